"""The generation lifecycle on a real Redis and a real (in-process) RQ worker."""

import av
import numpy as np
import pytest
from django.urls import reverse

from generation.spec import GenerationRequest
from studio.jobs.models import Clip, Generation
from studio.jobs.services import generation_cancel, generation_claim, generation_submit
from studio.jobs.worker import reconcile

pytestmark = pytest.mark.django_db


def submit(project, user, engine="animatic", **fields):
    values = dict(
        prompt="A red kite over the dunes",
        width=128,
        height=96,
        num_frames=12,
        fps=12,
        seed=7,
        camera_motion="pan_left",
    )
    request = GenerationRequest(**{**values, **fields})
    return generation_submit(project=project, user=user, engine_id=engine, request=request)


def decode(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        return (
            np.stack(frames),
            float(stream.average_rate),
            stream.codec_context.name,
            stream.codec_context.pix_fmt,
        )


def test_animatic_job_becomes_a_clip(
    alice, alice_project, run_worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        g = submit(alice_project, alice)
    run_worker()
    g.refresh_from_db()
    assert g.status == "succeeded", g.error
    assert g.step == g.total_steps > 0
    clip = Clip.objects.get(generation=g)
    frames, fps, codec, pix_fmt = decode(clip.file.path)
    assert frames.shape == (12, 96, 128, 3)
    assert fps == 12 and codec == "h264" and pix_fmt == "yuv420p"
    assert (clip.width, clip.height, clip.num_frames) == (128, 96, 12)
    with open(clip.poster.path, "rb") as fh:
        assert fh.read(2) == b"\xff\xd8"


def test_claim_is_conditional(alice, alice_project, redis_conn):
    g = submit(alice_project, alice)
    assert generation_claim(generation_id=str(g.pk), worker="w1") is True
    assert generation_claim(generation_id=str(g.pk), worker="w2") is False
    g.refresh_from_db()
    assert (g.status, g.worker, g.attempts) == ("running", "w1", 1)


def test_cancel_a_queued_job_removes_it(
    alice, alice_project, run_worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        g = submit(alice_project, alice)
    g = generation_cancel(generation=g)
    assert g.status == "cancelled"
    run_worker()
    g.refresh_from_db()
    assert g.status == "cancelled" and not Clip.objects.exists()


def test_cancel_while_running_stops_within_one_step(
    alice, alice_project, run_worker, monkeypatch, django_capture_on_commit_callbacks
):
    from studio.jobs import progress as progress_module

    seen = []
    original = progress_module.JobProgress.step

    def step(self, done, total, preview=None):
        seen.append(done)
        original(self, done, total, preview)
        if len(seen) == 1:  # The user presses Cancel after the first progress report.
            generation_cancel(generation=Generation.objects.get(pk=self.generation.pk))

    monkeypatch.setattr(progress_module.JobProgress, "step", step)
    with django_capture_on_commit_callbacks(execute=True):
        g = submit(alice_project, alice, steps=None)
        g.recipe["num_frames"] = 96
        g.save(update_fields=["recipe"])
    run_worker()
    g.refresh_from_db()
    assert g.status == "cancelled"
    assert len(seen) <= 2, seen
    assert not Clip.objects.exists()


def test_engine_failure_has_a_specific_reason(
    alice, alice_project, run_worker, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.STUDIO_ENGINE_CONFIGS = {
        "animatic": {},
        "wan": {"model": str(tmp_path / "missing-model")},
    }
    with django_capture_on_commit_callbacks(execute=True):
        g = submit(alice_project, alice, engine="wan", steps=2, num_frames=9, width=32, height=32)
    run_worker()
    g.refresh_from_db()
    assert g.status == "failed"
    assert "missing-model" in g.error or "model" in g.error.lower()
    assert "Traceback" not in g.error


def test_a_corrupt_input_image_fails_with_reason(
    alice, alice_project, run_worker, settings, django_capture_on_commit_callbacks
):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    name = default_storage.save("inputs/2026/11/broken.png", ContentFile(b"not a png"))
    with django_capture_on_commit_callbacks(execute=True):
        g = submit(alice_project, alice, mode="image_to_video", image_path=name)
    run_worker()
    g.refresh_from_db()
    assert (g.status, g.error_code) == ("failed", "generation_error"), g.error
    assert "image" in g.error.lower() and str(settings.MEDIA_ROOT) not in g.error


@pytest.mark.parametrize("name", ["inputs/2026/11/gone.png", "/etc/passwd", "../../etc/passwd"])
def test_a_missing_or_outside_input_fails_without_showing_a_path(
    alice, alice_project, run_worker, settings, django_capture_on_commit_callbacks, name
):
    with django_capture_on_commit_callbacks(execute=True):
        g = submit(alice_project, alice, mode="image_to_video", image_path=name)
    run_worker()
    g.refresh_from_db()
    assert (g.status, g.error_code) == ("failed", "input_missing"), g.error
    assert g.error == "The input image this job reads is gone; it was deleted."


def test_reconcile_requeues_forgotten_and_retries_orphans(
    alice, alice_project, redis_conn, settings, django_capture_on_commit_callbacks
):
    import django_rq

    settings.STUDIO_MAX_ATTEMPTS = 2
    queue = django_rq.get_queue("default")
    forgotten = submit(alice_project, alice)  # on_commit never ran: Redis does not know it
    orphan = submit(alice_project, alice)
    Generation.objects.filter(pk=orphan.pk).update(
        status="running", worker="dead-worker", attempts=1
    )
    hopeless = submit(alice_project, alice)
    Generation.objects.filter(pk=hopeless.pk).update(
        status="running", worker="dead-worker", attempts=2
    )

    with django_capture_on_commit_callbacks(execute=True):
        counts = reconcile(redis_conn, [queue])

    assert counts == {"requeued": 1, "retried": 1, "failed": 1}
    assert set(queue.get_job_ids()) == {str(forgotten.pk), str(orphan.pk)}
    hopeless.refresh_from_db()
    assert hopeless.status == "failed" and "worker" in hopeless.error
    orphan.refresh_from_db()
    assert orphan.status == "queued"
    # A second pass finds nothing left to heal.
    assert reconcile(redis_conn, [queue]) == {"requeued": 0, "retried": 0, "failed": 0}


def test_the_downloads_worker_s_reconcile_reads_generations_from_their_queue(
    alice, alice_project, redis_conn, django_capture_on_commit_callbacks
):
    """The downloads worker takes only `models`; a queued generation is not 'forgotten'."""
    import django_rq

    generations, models = django_rq.get_queue("default"), django_rq.get_queue("models")
    with django_capture_on_commit_callbacks(execute=True):
        waiting = submit(alice_project, alice)
    assert generations.get_job_ids() == [str(waiting.pk)]

    with django_capture_on_commit_callbacks(execute=True):
        counts = reconcile(redis_conn, [models])

    assert counts == {"requeued": 0, "retried": 0, "failed": 0}
    assert generations.get_job_ids() == [str(waiting.pk)]  # Not queued a second time.


def test_gallery_lists_clips_newest_first_and_paginates(
    alice_client, alice, alice_project, run_worker, django_capture_on_commit_callbacks
):
    from studio.gallery.services import GALLERY_PAGE_SIZE, gallery_cursor_for

    with django_capture_on_commit_callbacks(execute=True):
        ids = [submit(alice_project, alice).pk for _ in range(GALLERY_PAGE_SIZE + 1)]
    Generation.objects.update(recipe={**Generation.objects.first().recipe, "num_frames": 2})
    run_worker()
    clips = list(Clip.objects.order_by("-created_at", "-pk"))
    assert len(clips) == len(ids)
    page1 = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    assert page1.index(f'id="clip-{clips[0].pk}"') < page1.index(f'id="clip-{clips[1].pk}"')
    assert f'id="clip-{clips[-1].pk}"' not in page1
    cursor = gallery_cursor_for(clips[-2])
    assert f"?after={cursor}" in page1  # "Older clips" carries where page 1 ended
    page2 = alice_client.get(
        reverse("project-detail", args=[alice_project.pk]) + f"?after={cursor}",
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert f'id="clip-{clips[-1].pk}"' in page2 and f'id="clip-{clips[-2].pk}"' not in page2
    assert "Older clips" not in page2  # the last page
    listing = alice_client.get(reverse("project-list")).content.decode()
    assert "Lighthouse" in listing and f">{len(ids)}</td>" in listing


def test_clip_page_download_and_byte_ranges(
    alice_client, alice, alice_project, run_worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit(alice_project, alice)
    run_worker()
    clip = Clip.objects.get()
    page = alice_client.get(reverse("clip-detail", args=[clip.pk])).content.decode()
    assert "A red kite over the dunes" in page and ">7<" in page  # prompt and seed
    download = alice_client.get(reverse("clip-download", args=[clip.pk]))
    assert "attachment" in download["Content-Disposition"]
    body = b"".join(download.streaming_content)
    assert body[4:8] == b"ftyp"
    partial = alice_client.get(reverse("clip-video", args=[clip.pk]), HTTP_RANGE="bytes=0-99")
    assert partial.status_code == 206
    assert b"".join(partial.streaming_content) == body[:100]
    assert partial["Content-Range"] == f"bytes 0-99/{len(body)}"
    tail = alice_client.get(reverse("clip-video", args=[clip.pk]), HTTP_RANGE="bytes=-10")
    assert b"".join(tail.streaming_content) == body[-10:]
    beyond = alice_client.get(
        reverse("clip-video", args=[clip.pk]), HTTP_RANGE=f"bytes={len(body)}-"
    )
    assert beyond.status_code == 416


def test_reconcile_sees_a_crashed_worker_on_this_host_at_once(
    alice, alice_project, redis_conn, django_capture_on_commit_callbacks
):
    import subprocess

    import django_rq
    from rq import Worker

    queue = django_rq.get_queue("default")
    ghost = Worker([queue], connection=redis_conn, name="ghost")
    ghost.register_birth()
    gone = subprocess.Popen(["true"])
    gone.wait()
    redis_conn.hset(ghost.key, "pid", gone.pid)  # its process has exited; its key lives on
    g = submit(alice_project, alice)
    Generation.objects.filter(pk=g.pk).update(status="running", worker="ghost", attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        counts = reconcile(redis_conn, [queue])

    assert counts["retried"] == 1
    g.refresh_from_db()
    assert g.status == "queued" and str(g.pk) in queue.get_job_ids()


def test_project_page_keeps_recent_failures_and_drops_old_ones(
    alice_client, alice, alice_project, redis_conn
):
    from datetime import timedelta

    from django.utils import timezone

    old, recent, queued = (submit(alice_project, alice) for _ in range(3))
    now = timezone.now()
    Generation.objects.filter(pk=old.pk).update(
        status="failed", error="old reason", finished_at=now - timedelta(days=3)
    )
    Generation.objects.filter(pk=recent.pk).update(
        status="failed", error="The worker ran out of memory.", finished_at=now - timedelta(hours=2)
    )
    page = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    assert f"generation-{queued.pk}" in page
    assert "The worker ran out of memory." in page
    assert f"generation-{old.pk}" not in page


def test_active_cards_poll_as_a_fallback_and_finished_ones_stop(
    alice_client, alice, alice_project, run_worker, django_capture_on_commit_callbacks
):
    """If the socket drops, a running card still catches up; a finished card stops asking."""
    with django_capture_on_commit_callbacks(execute=True):
        g = submit(alice_project, alice)
    url = reverse("generation-detail", args=[g.pk])
    queued = alice_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert f'hx-get="{url}"' in queued and "every 10s" in queued
    run_worker()
    done = alice_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<video" in done and "hx-trigger" not in done
