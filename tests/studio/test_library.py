"""The staff Models page and its downloads: a real RQ worker fetches a checkpoint from the
local hub cache into the models directory, with live rows over the staff socket; cancel,
one active download per model, reconcile after a killed worker, delete."""

import asyncio
import re

import django_rq
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse

from generation.modelstore import MANIFEST, read_manifest, write_manifest
from studio.asgi import application
from studio.jobs.worker import StudioWorker
from studio.library import services
from studio.library.models import ModelDownload

NAME = "wan-t2v-1.3b"


@pytest.fixture
def staff(db):
    return User.objects.create_user("keeper", password="keeper-pass-123", is_staff=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def models_dir(settings, tmp_path):
    settings.STUDIO_MODELS_DIR = tmp_path / "models"
    return settings.STUDIO_MODELS_DIR


@pytest.fixture
def hub_cache(wan_hub_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(wan_hub_cache))
    return wan_hub_cache


@pytest.fixture
def run_studio_worker(redis_conn):
    """The studio's worker as scripts/run.sh starts it: `default`, then `models`."""

    def run():
        queues = [django_rq.get_queue("default"), django_rq.get_queue("models")]
        StudioWorker(queues, connection=redis_conn).work(burst=True, with_scheduler=False)

    return run


def _fetch(client, **headers):
    return client.post(reverse("library:fetch", args=[NAME]), **headers)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_fetches_into_the_models_dir_with_live_rows(
    client, staff, models_dir, hub_cache, run_studio_worker
):
    async def scenario():
        await sync_to_async(client.force_login)(staff)
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
        socket = WebsocketCommunicator(
            application,
            "/ws/staff/models/",
            headers=[
                (b"origin", b"http://testserver"),
                (b"cookie", f"{cookie.key}={cookie.value}".encode()),
            ],
        )
        connected, _ = await socket.connect()
        assert connected
        response = await sync_to_async(_fetch)(client, HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and "waiting for a worker" in response.content.decode()
        await sync_to_async(run_studio_worker, thread_sensitive=False)()
        fragments = []
        while not any('data-state="installed"' in html for html in fragments):
            fragments.append(await socket.receive_from(timeout=30))
        await socket.disconnect()
        return fragments

    fragments = asyncio.run(scenario())
    download = ModelDownload.objects.get()
    assert download.status == "done" and download.error == ""
    assert download.bytes_done == download.bytes_total > 0
    assert download.started_at and download.finished_at and download.worker
    manifest = read_manifest(models_dir / NAME)
    assert manifest["name"] == NAME and manifest["bytes"] == download.bytes_total
    # State changes push the model's row, bytes the small progress fragment; all swap in place.
    rows = [html for html in fragments if html.lstrip().startswith(f'<tr id="model-{NAME}"')]
    bars = [
        html
        for html in fragments
        if html.lstrip().startswith(f'<div class="download-progress" id="model-progress-{NAME}"')
    ]
    assert len(rows) + len(bars) == len(fragments) and len(rows) == 2 and bars
    assert all('hx-swap-oob="true"' in html for html in fragments)
    assert 'data-state="downloading"' in rows[0] and "<td" not in "".join(bars)
    assert re.search(r"100% · [\d.]+ [KM]B of", bars[-1])
    page = client.get(reverse("library:index")).content.decode()
    row = _model_row(page)
    assert "Installed" in row and ">Delete<" in row and ">Fetch<" not in row


@pytest.mark.django_db
def test_fetch_is_refused_while_one_runs_and_when_installed(staff_client, models_dir, redis_conn):
    assert _fetch(staff_client).status_code == 302
    again = _fetch(staff_client, HTTP_HX_REQUEST="true")
    assert again.status_code == 400 and "already being downloaded" in again.content.decode()
    with pytest.raises(IntegrityError):  # The database holds the rule too.
        ModelDownload.objects.create(name=NAME, status="downloading")


@pytest.mark.django_db
def test_an_installed_model_is_not_fetched_again(staff_client, models_dir):
    (models_dir / NAME).mkdir(parents=True)
    write_manifest(models_dir / NAME, {"name": NAME, "installed_at": "2026-11-30T10:00:00+00:00"})
    response = _fetch(staff_client)
    assert response.status_code == 400 and "already installed" in response.content.decode()
    assert not ModelDownload.objects.exists()


@pytest.mark.django_db
def test_cancel_a_queued_download_before_it_starts(
    staff_client, models_dir, redis_conn, run_studio_worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _fetch(staff_client)
    assert django_rq.get_queue("models").count == 1
    response = staff_client.post(reverse("library:cancel", args=[NAME]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'data-state="cancelled"' in response.content.decode()
    assert django_rq.get_queue("models").count == 0
    assert ModelDownload.objects.get().status == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_cancel_midway_keeps_no_manifest_and_fetching_again_resumes(
    staff_client, models_dir, hub_cache, run_studio_worker, monkeypatch
):
    import studio.library.jobs as jobs

    monkeypatch.setattr("generation.fetch._same_device", lambda a, b: False)
    monkeypatch.setattr("generation.fetch.COPY_CHUNK", 4096)
    monkeypatch.setattr(jobs, "SAVE_INTERVAL", 0.0)
    monkeypatch.setattr(jobs, "CANCEL_POLL", 0.0)
    record = services.download_progress

    def progress_then_cancel(**kwargs):  # Staff press Cancel once the download is under way.
        record(**kwargs)
        if kwargs["done"] > 0:
            services.download_cancel(name=NAME)

    monkeypatch.setattr(services, "download_progress", progress_then_cancel)
    _fetch(staff_client)
    run_studio_worker()
    first = ModelDownload.objects.get()
    assert first.status == "cancelled" and 0 < first.bytes_done < first.bytes_total
    assert not (models_dir / NAME / MANIFEST).exists()
    page = staff_client.get(reverse("library:index")).content.decode()
    assert "already downloaded; Fetch continues" in page

    monkeypatch.setattr(services, "download_progress", record)
    kept = {p: p.stat().st_mtime_ns for p in (models_dir / NAME).rglob("*") if p.is_file()}
    _fetch(staff_client)
    run_studio_worker()
    assert ModelDownload.objects.latest("pk").status == "done"
    assert read_manifest(models_dir / NAME)
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())  # Not copied again.


@pytest.mark.django_db
def test_a_download_whose_worker_died_fails_with_a_reason(staff_client, models_dir, redis_conn):
    lost = ModelDownload.objects.create(
        name=NAME, status="downloading", worker="gone.1234", bytes_done=10, bytes_total=100
    )
    page = staff_client.get(reverse("library:index")).content.decode()
    lost.refresh_from_db()
    assert lost.status == "failed" and "worker stopped" in lost.error
    assert "worker stopped" in _model_row(page) and ">Fetch<" in _model_row(page)
    assert _fetch(staff_client).status_code == 302  # Fetch again is allowed at once.


@pytest.mark.django_db
def test_delete_removes_the_directory_but_never_while_downloading(
    staff_client, models_dir, redis_conn
):
    target = models_dir / NAME
    target.mkdir(parents=True)
    write_manifest(target, {"name": NAME, "installed_at": "2026-11-30T10:00:00+00:00"})
    active = ModelDownload.objects.create(name=NAME, status="queued", rq_job_id="x")
    refused = staff_client.post(reverse("library:delete", args=[NAME]), HTTP_HX_REQUEST="true")
    assert refused.status_code == 400 and "cancel the download" in refused.content.decode()
    assert target.is_dir()
    active.delete()
    assert staff_client.post(reverse("library:delete", args=[NAME])).status_code == 302
    assert not target.exists()
    with pytest.raises(ValidationError, match="not on this machine"):
        services.model_delete(name=NAME)


@pytest.mark.django_db
def test_unknown_model_names_are_404(staff_client):
    assert staff_client.post(reverse("library:fetch", args=["..etc"])).status_code == 404
    assert staff_client.get(reverse("library:row", args=["nope"])).status_code == 404


@pytest.mark.django_db
def test_the_page_shows_disk_use_and_each_state(staff_client, models_dir, redis_conn):
    page = staff_client.get(reverse("library:index")).content.decode()
    assert "Not installed" in page and str(models_dir) in page and "free of" in page
    assert "17.4 GB" in page and "Apache-2.0" in page and "832×480" in page
    # Modes read as words, in the order the studio lists them (not identifiers).
    assert ">text, video<" in _model_row(page)
    assert ">text, image, extend forward, extend backward<" in _model_row(page, "ltx-2b-0.9.5")
    ModelDownload.objects.create(
        name=NAME, status="failed", error="Could not download: the hub is unreachable."
    )
    page = staff_client.get(reverse("library:index")).content.decode()
    assert "Failed" in page and "the hub is unreachable" in page
    assert re.search(r'id="model-wan-t2v-1.3b"[^>]*data-state="failed"', page)


@pytest.mark.django_db
def test_staff_see_the_models_link(client, staff, alice):
    client.force_login(staff)
    assert reverse("library:index") in client.get(reverse("project-list")).content.decode()
    client.force_login(alice)
    assert reverse("library:index") not in client.get(reverse("project-list")).content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["is_active", "is_staff"])
def test_a_deactivated_or_demoted_account_is_cut_off_at_once(client, staff, redis_conn, change):
    async def scenario():
        await sync_to_async(client.force_login)(staff)
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
        headers = [
            (b"origin", b"http://testserver"),
            (b"cookie", f"{cookie.key}={cookie.value}".encode()),
        ]
        socket = WebsocketCommunicator(application, "/ws/staff/models/", headers=headers)
        connected, _ = await socket.connect()
        assert connected
        setattr(staff, change, False)
        await sync_to_async(staff.save)()
        return await socket.receive_output(timeout=10)

    assert asyncio.run(scenario()) == {"type": "websocket.close", "code": 4403}


@pytest.mark.django_db
def test_a_queued_download_redis_forgot_is_enqueued_again(
    staff_client, models_dir, redis_conn, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    def visit():
        with django_capture_on_commit_callbacks(execute=True):
            staff_client.get(reverse("library:index"))
        return django_rq.get_queue("models").job_ids

    fresh = ModelDownload.objects.create(
        name=NAME, rq_job_id="6a3c0f6e-0000-4000-8000-000000000001"
    )
    assert visit() == []  # Its own commit may still be enqueueing it.
    ModelDownload.objects.filter(pk=fresh.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    assert visit() == [fresh.rq_job_id]
    assert visit() == [fresh.rq_job_id]  # Once.


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_download_leaves_a_failed_row_and_fetch_resumes(
    staff_client, models_dir, wan_fake_hub, settings, tmp_path, run_studio_worker, monkeypatch
):
    """A real `rqworker` process is killed (SIGKILL) while it downloads: the page's reconcile
    fails the row with a reason, and fetching again finishes without re-downloading the
    files the dead worker completed."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import database_url_for_subprocess

    empty_cache = tmp_path / "empty-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(empty_cache))
    settings.STUDIO_HF_ENDPOINT = wan_fake_hub.url
    wan_fake_hub.delay = 0.05
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env.update(
        DATABASE_URL=database_url_for_subprocess(),
        STUDIO_MODELS_DIR=str(models_dir),
        STUDIO_HF_ENDPOINT=wan_fake_hub.url,
        HF_HUB_CACHE=str(empty_cache),
    )
    _fetch(staff_client)
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "models",
         "--worker-class", "studio.jobs.worker.StudioWorker"],
        cwd=django_settings.BASE_DIR, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        download = ModelDownload.objects.get()
        deadline = time.monotonic() + 60
        while not (download.status == "downloading" and download.bytes_done > 0):
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
            download.refresh_from_db()
        time.sleep(1.0)  # Let it finish a few files.
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    finished = [rel for rel in wan_fake_hub.files if (models_dir / NAME / rel).is_file()]

    page = staff_client.get(reverse("library:index")).content.decode()
    download.refresh_from_db()
    assert download.status == "failed" and "worker stopped" in download.error
    assert "worker stopped" in _model_row(page) and ">Fetch<" in _model_row(page)

    wan_fake_hub.delay = 0.0
    _fetch(staff_client)
    run_studio_worker()
    assert ModelDownload.objects.latest("pk").status == "done"
    assert read_manifest(models_dir / NAME)
    assert finished and all(wan_fake_hub.gets[rel] == 1 for rel in finished)


def _model_row(page: str, name: str | None = None) -> str:
    """The catalogue row of `name` (default: the model these tests fetch) on the Models page."""
    start = page.index(f'<tr id="model-{name or NAME}"')
    return page[start : page.index("</tr>", start)]
