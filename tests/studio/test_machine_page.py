"""The staff machine page, `manage.py doctor`, and the projects page's first-run guidance."""

import io
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.urls import reverse

from generation import catalogue, machine
from generation.memory import GIB
from studio.jobs import engines


@pytest.fixture
def staff_client(client, alice):
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    client.force_login(alice)
    return client


@pytest.fixture
def animatic_only(settings, tmp_path):
    settings.STUDIO_MODELS_DIR = tmp_path / "models"
    settings.STUDIO_ENGINE_CONFIGS = {"animatic": {}, "enhance": {}}
    settings.STUDIO_DEFAULT_ENGINE = "animatic"


def test_machine_page_shows_device_services_and_every_engine(
    staff_client, animatic_only, redis_conn
):
    response = staff_client.get(reverse("machine:index"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "CPU only" in page or "GPU:" in page
    assert "torch " in page and "Disk, models" in page and "Disk, media" in page
    assert "Redis" in page and "answering at" in page
    assert "migrations applied" in page
    assert 'id="engine-animatic"' in page
    for name in catalogue.CATALOGUE:
        assert f'id="engine-{name}"' in page
    assert "needs a GPU" in page or "not downloaded" in page


def test_doctor_prints_the_machine_and_each_engine(animatic_only, redis_conn, db):
    out = io.StringIO()
    call_command("doctor", stdout=out)
    text = out.getvalue()
    assert text.startswith("Device: ")
    assert "Redis: ok: Redis " in text
    assert "Database: ok: sqlite" in text or "Database: ok: postgresql" in text
    assert "Workers: " in text
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("  ")}
    assert "ready" in lines["animatic"]
    assert set(catalogue.CATALOGUE) <= set(lines)
    if "CPU only" in text:
        assert "needs a GPU" in lines["wan-t2v-1.3b"]
    assert "Traceback" not in text


def test_doctor_exits_non_zero_when_redis_is_unreachable(tmp_path):
    env = {
        **os.environ,
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "STUDIO_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "doctor"], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Redis: FAILED: unreachable at redis://127.0.0.1:9/0" in done.stdout
    assert "Database: ok" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_first_run_guidance_when_only_the_animatic_generates(
    animatic_only, client, alice, settings, tiny_wan_dir
):
    client.force_login(alice)
    page = client.get(reverse("project-list")).content.decode()
    assert 'id="first-run"' in page
    assert "camera-previs renderer" in page and "not AI video" in page
    assert "ask your admin" in page and "fetch_model" not in page

    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    page = client.get(reverse("project-list")).content.decode()
    assert "fetch_model wan-t2v-1.3b" in page and 'href="/staff/models/"' in page
    from studio.jobs.engines import machine_facts

    if machine_facts().device != "cuda":
        assert "AI video needs a GPU" in page

    settings.STUDIO_ENGINE_CONFIGS = {"animatic": {}, "wan": {"model": str(tiny_wan_dir)}}
    page = client.get(reverse("project-list")).content.decode()
    assert 'id="first-run"' not in page


GPU8 = machine.Facts(device="cuda", gpu_name="RTX 3070", gpu_total=8 * GIB)


@pytest.fixture
def small_gpu(monkeypatch):
    """The facts of a machine with an 8 GB GPU (this one has none)."""
    monkeypatch.setattr(engines, "machine_facts", lambda: GPU8)


def test_on_a_small_gpu_the_form_says_what_does_not_fit_and_what_to_fetch(
    small_gpu, animatic_only, alice, client
):
    from studio.projects.services import project_create

    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    client.force_login(alice)
    project = project_create(team=alice.memberships.get().team, name="P", user=alice)
    page = client.get(reverse("project-detail", args=[project.pk])).content.decode()
    note = page[page.index('id="other-engines"') :]
    note = note[: note.index("</details>")]
    assert "Does not fit this GPU" in note and "Not downloaded" in note
    assert "Needs a GPU" not in note
    assert "no offload mode makes it fit" in note  # e.g. Wan 2.1 14B on 8 GB
    assert 'title="wan-t2v-1.3b: ' in note and 'href="/staff/models/"' in note

    listing = client.get(reverse("project-list")).content.decode()
    assert "One step to a real engine" in listing and "fetch_model wan-t2v-1.3b" in listing
    assert "AI video needs a GPU" not in listing


def test_machine_page_on_a_small_gpu(small_gpu, animatic_only, staff_client, redis_conn):
    page = staff_client.get(reverse("machine:index")).content.decode()
    assert "GPU: RTX 3070, 8.0 GB" in page
    row = page[page.index('id="engine-wan-t2v-1.3b"') :]
    row = row[: row.index("</tr>")]
    assert "not downloaded" in row and "runs with group offload" in row
