"""Team quotas: engine-seconds per month and jobs at once, refused before anything is queued."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from generation.spec import GenerationRequest
from studio.jobs.models import Generation
from studio.jobs.quotas import QuotaExceeded, month_bounds, team_usage
from studio.jobs.services import generation_submit
from studio.projects.services import project_create
from studio.teams.models import Membership

pytestmark = pytest.mark.django_db

REQUEST = GenerationRequest(prompt="A red kite", width=96, height=64, num_frames=4, fps=8, seed=1)


def submit(project, user, engine="animatic"):
    return generation_submit(project=project, user=user, engine_id=engine, request=REQUEST)


def used(project, user, seconds, engine="animatic", started=None):
    """A finished run that used `seconds` of engine time."""
    g = submit(project, user)
    Generation.objects.filter(pk=g.pk).update(
        engine=engine,
        status="succeeded",
        engine_seconds=seconds,
        started_at=started or timezone.now(),
    )
    return g


def test_the_worker_measures_engine_seconds(
    alice, alice_project, run_worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        g = submit(alice_project, alice)
    run_worker()
    g.refresh_from_db()
    assert g.status == "succeeded"
    assert 0 < g.engine_seconds < (g.finished_at - g.started_at).total_seconds()


def test_over_budget_is_refused_with_the_figures_and_nothing_is_queued(
    settings, alice, alice_project, redis_conn, django_capture_on_commit_callbacks
):
    settings.STUDIO_TEAM_MONTHLY_ENGINE_SECONDS = 100
    with django_capture_on_commit_callbacks(execute=True):
        used(alice_project, alice, 60.4)
        submit(alice_project, alice)  # 60 of 100 used: still fine
        used(alice_project, alice, 40)
    before = Generation.objects.count(), redis_conn.llen("rq:queue:default")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(QuotaExceeded) as e:
        submit(alice_project, alice)

    assert e.value.code == "budget_exceeded"
    _, renews = month_bounds()
    assert str(e.value) == (
        f"alice's team has used 100 of its 100 engine-seconds this month; "
        f"the budget renews on {renews:%B} 1."
    )
    assert (Generation.objects.count(), redis_conn.llen("rq:queue:default")) == before


def test_last_months_runs_do_not_count(settings, alice, alice_project):
    settings.STUDIO_TEAM_MONTHLY_ENGINE_SECONDS = 100
    start, _ = month_bounds()
    used(alice_project, alice, 500, started=start - timedelta(seconds=1))
    assert submit(alice_project, alice).status == "queued"


def test_a_team_override_beats_the_default(settings, alice, alice_project):
    settings.STUDIO_TEAM_MONTHLY_ENGINE_SECONDS = 100
    team = alice_project.team
    team.monthly_engine_seconds = 1000
    team.save()
    used(alice_project, alice, 500)
    submit(alice_project, alice)
    team.monthly_engine_seconds = 0  # no limit
    team.save()
    used(alice_project, alice, 5000)
    submit(alice_project, alice)


def test_the_concurrency_cap_counts_queued_and_running_jobs(settings, alice, alice_project):
    settings.STUDIO_TEAM_MAX_CONCURRENT_JOBS = 2
    first = submit(alice_project, alice)
    Generation.objects.filter(pk=first.pk).update(status="running")
    submit(alice_project, alice)
    with pytest.raises(QuotaExceeded) as e:
        submit(alice_project, alice)
    assert e.value.code == "concurrency_limit"
    assert "already has 2 jobs queued or running, and its limit is 2 at once" in str(e.value)
    Generation.objects.filter(pk=first.pk).update(status="succeeded")
    submit(alice_project, alice)  # one finished: room again


def test_quotas_are_per_team(settings, alice, bob, alice_project):
    settings.STUDIO_TEAM_MAX_CONCURRENT_JOBS = 1
    submit(alice_project, alice)
    bob_project = project_create(team=bob.memberships.get().team, name="Dunes", user=bob)
    assert submit(bob_project, bob).status == "queued"


def test_the_web_form_shows_the_error(settings, alice_client, alice, alice_project):
    settings.STUDIO_TEAM_MONTHLY_ENGINE_SECONDS = 10
    used(alice_project, alice, 12)
    count = Generation.objects.count()
    response = alice_client.post(
        reverse("generate", args=[alice_project.pk]),
        {"text": "A lighthouse at dusk", "negative_text": "", "camera_motion": "static",
         "style_preset": "", "aspect_ratio": "16:9", "resolution": "256", "duration_s": "1",
         "fps": "8", "seed": "", "steps": "", "engine": "animatic"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "has used 12 of its 10 engine-seconds this month" in response.content.decode()
    assert Generation.objects.count() == count


def test_the_api_answers_429_in_the_openai_shape(settings, client, alice, alice_project):
    from studio.keys.services import api_key_create

    settings.STUDIO_TEAM_MAX_CONCURRENT_JOBS = 1
    submit(alice_project, alice)
    _, secret = api_key_create(team=alice_project.team, user=alice, name="ci")
    response = client.post(
        "/v1/videos",
        {"prompt": "A lighthouse", "model": "animatic", "size": "96x64", "seconds": "1"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["type"] == "rate_limit_error" and error["code"] == "concurrency_limit"
    assert "already has 1 jobs queued or running, and its limit is 1" in error["message"]


def test_usage_page_by_member_and_engine(settings, alice_client, alice, bob, alice_project):
    settings.STUDIO_TEAM_MONTHLY_ENGINE_SECONDS = 1000
    team = alice_project.team
    Membership.objects.create(user=bob, team=team, role="editor")
    used(alice_project, alice, 100, engine="animatic")
    used(alice_project, alice, 50, engine="enhance")
    used(alice_project, bob, 30, engine="animatic")
    start, _ = month_bounds()
    used(alice_project, bob, 999, started=start - timedelta(days=3))  # last month

    usage = team_usage(team)
    assert usage.total_seconds == 180 and usage.runs == 3 and usage.percent == 18
    assert [(r["name"], r["seconds"], r["runs"]) for r in usage.by_member] == [
        ("alice", 150, 2),
        ("bob", 30, 1),
    ]
    assert [(r["name"], r["seconds"]) for r in usage.by_engine] == [
        ("animatic", 130),
        ("enhance", 50),
    ]
    page = alice_client.get(reverse("team-usage", args=[team.pk])).content.decode()
    assert 'id="usage-total">180 s<' in page
    assert "1,000 s" in page and "18% of the budget used" in page


def test_usage_page_is_for_members_only(client, bob, alice_project):
    client.force_login(bob)
    assert client.get(reverse("team-usage", args=[alice_project.team_id])).status_code == 404


def test_month_bounds_roll_over_the_year():
    tz = timezone.get_current_timezone()
    start, end = month_bounds(datetime(2026, 12, 15, 10, tzinfo=tz))
    assert (start.year, start.month, start.day, end.year, end.month) == (2026, 12, 1, 2027, 1)


def test_the_project_page_links_to_its_teams_usage(alice_client, alice_project):
    page = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    assert f'href="{reverse("team-usage", args=[alice_project.team_id])}"' in page
