"""Fair share: one team's burst never starves another team's job (a real worker process)."""

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings

from generation.spec import GenerationRequest
from studio.jobs.models import Generation
from studio.jobs.services import generation_cancel, generation_reconcile, generation_submit
from studio.projects.services import project_create
from tests.conftest import database_url_for_subprocess

REQUEST = GenerationRequest(prompt="A red kite", width=64, height=64, num_frames=4, fps=8, seed=1)


def submit(project, user):
    return generation_submit(project=project, user=user, engine_id="animatic", request=REQUEST)


def _project(user, name):
    return project_create(team=user.memberships.get().team, name=name, user=user)


def _wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError("the worker did not get there in time")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_burst_of_50_does_not_starve_another_teams_job(alice, bob, redis_conn, tmp_path):
    alice_project, bob_project = _project(alice, "Burst"), _project(bob, "Single")
    burst = [submit(alice_project, alice) for _ in range(50)]
    # One of alice's jobs is in the RQ queue; the other 49 wait in the database.
    assert redis_conn.llen("rq:queue:default") == 1
    assert Generation.objects.filter(dispatched_at__isnull=True).count() == 49

    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "rqworker", "default",
             "--worker-class", "studio.jobs.worker.StudioWorker"],
            cwd=django_settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            # Alice's burst is being worked through when bob's single job arrives.
            _wait_for(lambda: Generation.objects.filter(status="succeeded").count() >= 2)
            single = submit(bob_project, bob)
            _wait_for(lambda: Generation.objects.get(pk=single.pk).status == "succeeded")
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            sys.stderr.write((tmp_path / "worker.log").read_text(errors="replace")[-3000:])

    single.refresh_from_db()
    alice_runs = Generation.objects.filter(pk__in=[g.pk for g in burst])
    # Within one job's time: at most one of alice's jobs started between bob's job being
    # queued and starting (first in, first out, it would have waited for ~48 of them).
    overtaking = alice_runs.filter(
        started_at__gt=single.queued_at, started_at__lt=single.started_at
    ).count()
    assert overtaking <= 1
    assert alice_runs.filter(started_at__isnull=True).count() >= 40  # the burst went on


@pytest.mark.django_db
def test_a_finished_or_cancelled_job_releases_the_next_of_its_team(
    alice, alice_project, redis_conn, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first, second, third = (submit(alice_project, alice) for _ in range(3))
    assert redis_conn.lrange("rq:queue:default", 0, -1) == [str(first.pk).encode()]

    with django_capture_on_commit_callbacks(execute=True):
        generation_cancel(generation=first)

    second.refresh_from_db()
    assert second.dispatched_at is not None
    assert str(second.pk).encode() in redis_conn.lrange("rq:queue:default", 0, -1)
    assert not Generation.objects.get(pk=third.pk).dispatched_at


@pytest.mark.django_db
def test_reconcile_fills_free_slots_but_requeues_only_dispatched_jobs(
    settings, alice, alice_project, redis_conn, django_capture_on_commit_callbacks
):
    settings.STUDIO_FAIR_SHARE_SLOTS = 2
    jobs = [submit(alice_project, alice) for _ in range(4)]  # on_commit never ran
    assert [g.dispatched_at is not None for g in jobs] == [True, True, False, False]
    Generation.objects.filter(pk=jobs[0].pk).update(status="succeeded")

    with django_capture_on_commit_callbacks(execute=True):
        counts = generation_reconcile(live_workers=set(), queued_job_ids=set())

    assert counts["requeued"] == 1  # the second job, which Redis never saw
    queued = {j.decode() for j in redis_conn.lrange("rq:queue:default", 0, -1)}
    assert queued == {str(jobs[1].pk), str(jobs[2].pk)}  # the third took the freed slot
    assert not Generation.objects.get(pk=jobs[3].pk).dispatched_at


@pytest.mark.django_db
def test_a_waiting_jobs_card_says_it_waits_for_the_teams_earlier_jobs(
    alice_client, alice, alice_project
):
    from django.urls import reverse

    first, second = submit(alice_project, alice), submit(alice_project, alice)
    cards = [
        alice_client.get(reverse("generation-detail", args=[g.pk])).content.decode()
        for g in (first, second)
    ]
    assert "waiting for a worker" in cards[0] and "earlier jobs" not in cards[0]
    assert "after the team's earlier jobs" in cards[1]
