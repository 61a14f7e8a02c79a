"""Shared fixtures: named users with their teams, a real Redis, a real in-process worker.

Tiny offline pipelines live in tests/tiny/, one module per family, loaded as plugins.
"""

import io
import os
from pathlib import Path

import numpy as np
import pytest

pytest_plugins = sorted(
    f"tests.tiny.{p.stem}"
    for p in (Path(__file__).parent / "tiny").glob("*.py")
    if not p.stem.startswith("_")
)


@pytest.fixture
def redis_conn():
    """The real Redis started by the test command, emptied for this test."""
    import django_rq

    if not os.environ.get("REDIS_URL"):
        pytest.fail("REDIS_URL is not set: run the suite with `make test` (it starts Redis).")
    conn = django_rq.get_connection("default")
    conn.flushdb()
    return conn


def _user(name):
    from studio.teams.services import user_signup

    return user_signup(username=name, password=f"{name}-pass-123", email=f"{name}@example.com")


@pytest.fixture
def alice(db):
    return _user("alice")


@pytest.fixture
def bob(db):
    return _user("bob")


@pytest.fixture
def carol(db):
    return _user("carol")


@pytest.fixture
def alice_project(alice):
    from studio.projects.services import project_create

    team = alice.memberships.get().team
    return project_create(team=team, name="Lighthouse", user=alice)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def run_worker(redis_conn):
    """Run the studio worker in this process until the queue is empty (a real RQ worker)."""
    import django_rq

    from studio.jobs.worker import StudioWorker

    def run():
        queue = django_rq.get_queue("default")
        worker = StudioWorker([queue], connection=redis_conn)
        worker.work(burst=True, with_scheduler=False)
        return worker

    return run


@pytest.fixture
def tiny_wan_settings(settings, tiny_wan_dir):
    settings.STUDIO_ENGINE_CONFIGS = {"animatic": {}, "wan": {"model": str(tiny_wan_dir)}}
    settings.STUDIO_DEFAULT_ENGINE = "wan"
    return settings


def png_bytes(width=64, height=48, color=(200, 80, 40)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), color, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def database_url_for_subprocess() -> str:
    """Point a child process (worker, ASGI server) at the database this test uses."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    if connection.vendor == "postgresql":
        auth = f"{s['USER']}:{s['PASSWORD']}@" if s.get("USER") else ""
        return f"postgres://{auth}{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"
    raise NotImplementedError(connection.vendor)
