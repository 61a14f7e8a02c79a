"""Shared fixtures: named users with their teams, a real Redis, a real in-process worker,
a real S3 endpoint (moto's server) for media.

Tiny offline pipelines live in tests/tiny/, one module per family, loaded as plugins.
"""

import io
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pytest_plugins = sorted(
    f"tests.tiny.{p.stem}"
    for p in (Path(__file__).parent / "tiny").glob("*.py")
    if not p.stem.startswith("_")
)


# Fixtures that make a test slow: a tiny real pipeline (built once, then run on the CPU)
# or a studio in child processes. Tests using them are marked `slow`, so `make check`
# (the inner loop) skips them and `make test` runs everything.
SLOW_FIXTURES = {"tiny_wan_settings", "studio_url", "strict_studio_url", "live_studio"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & SLOW_FIXTURES or any(
            n.startswith("tiny_") and n.endswith("_dir") for n in names
        ):
            item.add_marker(pytest.mark.slow)


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


@dataclass(frozen=True)
class S3Server:
    """A real S3 endpoint (moto's server on loopback) with one bucket, and ways to use it."""

    endpoint_url: str
    bucket: str
    region: str = "us-east-1"
    access_key: str = "testing"
    secret_key: str = "testing"

    def environ(self, location: str) -> dict[str, str]:
        """The STUDIO_S3_* variables that point the studio (or a child process) at it."""
        return {
            "STUDIO_S3_BUCKET": self.bucket,
            "STUDIO_S3_ENDPOINT_URL": self.endpoint_url,
            "STUDIO_S3_REGION": self.region,
            "STUDIO_S3_ACCESS_KEY_ID": self.access_key,
            "STUDIO_S3_SECRET_ACCESS_KEY": self.secret_key,
            "STUDIO_S3_LOCATION": location,
        }

    def client(self):
        """A boto3 client that talks to the bucket directly, bypassing Django's storage."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key under `prefix`, as S3 itself lists them."""
        pages = self.client().get_paginator("list_objects_v2")
        listed = pages.paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in listed for obj in page.get("Contents", []))


def settings_from_env(monkeypatch, environ: dict[str, str]) -> dict:
    """Run studio/settings.py afresh under `environ` added to os.environ; return its names."""
    import runpy

    import studio.settings

    with monkeypatch.context() as m:
        for name in [n for n in os.environ if n.startswith("STUDIO_S3_")]:
            m.delenv(name)
        for name, value in environ.items():
            m.setenv(name, value)
        return runpy.run_path(studio.settings.__file__)


@pytest.fixture(scope="session")
def s3_server():
    """Start moto's S3 server for real on a free loopback port, with a bucket; stop it after."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    s3 = S3Server(endpoint_url=f"http://{host}:{port}", bucket="studio-test")
    s3.client().create_bucket(Bucket=s3.bucket)
    yield s3
    server.stop()


@pytest.fixture
def s3_storage(s3_server, settings, monkeypatch):
    """Switch `default_storage` to the moto bucket, configured as STUDIO_S3_* would.

    Each test gets its own key prefix (the storage's `location`), emptied afterwards.
    Django's setting_changed handler for STORAGES drops the cached storages, so code
    under test really reads and writes the bucket.
    """
    from django.core.files.storage import storages

    location = f"test-{uuid.uuid4().hex[:12]}"
    settings.STORAGES = settings_from_env(monkeypatch, s3_server.environ(location))["STORAGES"]
    yield storages["default"]  # what default_storage now wraps
    client = s3_server.client()
    for key in s3_server.keys(location + "/"):
        client.delete_object(Bucket=s3_server.bucket, Key=key)


@pytest.fixture(params=["filesystem", "s3"])
def media_storage(request):
    """Run the test once on local media (MEDIA_ROOT) and once on the moto S3 bucket."""
    from django.core.files.storage import storages

    if request.param == "s3":
        return request.getfixturevalue("s3_storage")
    return storages["default"]
