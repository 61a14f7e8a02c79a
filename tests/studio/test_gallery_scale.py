"""Gallery pages, the projects list, the job list and the API list at 10,000 clips."""

import json
import random
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from studio import media
from studio.gallery.management.commands.seed_gallery import seed_clips
from studio.gallery.services import BadCursor, gallery_cursor_for, gallery_page
from studio.jobs.models import Clip, Generation
from studio.jobs.selectors import active_generations
from studio.keys.services import api_key_create
from studio.projects.models import Project

pytestmark = pytest.mark.django_db


def _seed(alice, n: int) -> Project:
    out = StringIO()
    call_command("seed_gallery", alice.username, str(n), stdout=out, stderr=StringIO())
    return Project.objects.get(pk=int(out.getvalue()))


def _queries(client, url, **headers) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **headers)
        assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_seed_gallery_makes_n_realistic_clips_sharing_real_files(alice):
    project = _seed(alice, 60)
    assert project.team.personal and project.team.memberships.filter(user=alice).exists()
    clips = Clip.objects.filter(project=project).select_related("generation__prompt")
    assert clips.count() == 60
    derived = [c for c in clips if c.parent_clip_id]
    assert 1 <= len(derived) <= 15  # ~10%
    assert all(c.parent_clip.project_id == project.pk for c in derived)
    assert all(c.generation.source_clip_id == c.parent_clip_id for c in derived)
    assert len({c.generation.recipe["seed"] for c in clips}) > 50
    assert all(c.generation.prompt for c in clips if not c.parent_clip_id)
    assert len({c.file.name for c in clips}) == 1 and media.exists(clips[0].file.name)
    assert len({c.created_at for c in clips}) == 60


def test_seed_gallery_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("seed_gallery", "nobody", "5", stdout=StringIO())


def test_gallery_keyset_pages_cover_every_clip_once_newest_first(alice):
    project = _seed(alice, 30)
    seen, cursor = [], None
    while True:
        page = gallery_page(project.clips.all(), after=cursor, size=7)
        seen += [c.pk for c in page.clips]
        if not (cursor := page.next_cursor):
            break
    expected = list(project.clips.order_by("-created_at", "-pk").values_list("pk", flat=True))
    assert seen == expected
    # A filtered queryset (what gallery filters hand in) pages the same way.
    derived = project.clips.filter(parent_clip__isnull=False)
    page = gallery_page(derived, size=100)
    assert {c.pk for c in page.clips} == set(derived.values_list("pk", flat=True))
    assert page.next_cursor is None


def test_gallery_cursor_breaks_ties_by_id(alice_project, alice):
    first = _seed(alice, 1).clips.get()
    seed_clips(project=first.project, user=alice, template=first, n=4, rng=random.Random(1))
    Clip.objects.update(created_at=first.created_at)  # every clip at the same instant
    page = gallery_page(Clip.objects.all(), size=2)
    rest = gallery_page(Clip.objects.all(), after=page.next_cursor, size=10)
    ids = [c.pk for c in page.clips + rest.clips]
    assert ids == sorted(ids, reverse=True) and len(ids) == 5
    assert gallery_cursor_for(page.clips[-1]) == page.next_cursor


def test_bad_cursor_is_a_400_with_a_reason(alice_client, alice):
    project = _seed(alice, 3)
    with pytest.raises(BadCursor):
        gallery_page(project.clips.all(), after="yesterday")
    url = reverse("project-detail", args=[project.pk]) + "?after=yesterday"
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = alice_client.get(url, **headers)
        assert response.status_code == 400
        assert b"not a gallery position" in response.content


def test_pages_cost_the_same_queries_at_10_000_clips(alice_client, alice):
    project = _seed(alice, 13)
    page_url = reverse("project-detail", args=[project.pk])
    clip = project.clips.order_by("pk").first()
    small = {
        "page": _queries(alice_client, page_url)[0],
        "list": _queries(alice_client, reverse("project-list"))[0],
        "clip": _queries(alice_client, reverse("clip-detail", args=[clip.pk]))[0],
    }
    _, html = _queries(alice_client, page_url)
    cursor = gallery_cursor_for(project.clips.order_by("-created_at", "-pk")[11])
    more_url = f"{page_url}?after={cursor}"
    assert f"?after={cursor}" in html
    small["more"], more = _queries(alice_client, more_url, HTTP_HX_REQUEST="true")
    assert more.count('class="clip compact"') == 1 and "Older clips" not in more
    _, raw = api_key_create(team=project.team, user=alice, name="k", project=project)
    api = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    alice_client.get("/v1/videos?limit=1", **api)  # the key's first use is recorded once
    small["api"], _ = _queries(alice_client, "/v1/videos?limit=100", **api)

    seed_clips(project=project, user=alice, template=clip, n=10_000, rng=random.Random(2))
    assert _queries(alice_client, page_url)[0] == small["page"]
    counts, listing = _queries(alice_client, reverse("project-list"))
    assert counts == small["list"] and ">10013</td>" in listing
    assert _queries(alice_client, reverse("clip-detail", args=[clip.pk]))[0] == small["clip"]
    deep = project.clips.order_by("-created_at", "-pk")[9_000]
    count, more = _queries(
        alice_client, f"{page_url}?after={gallery_cursor_for(deep)}", HTTP_HX_REQUEST="true"
    )
    assert count == small["more"] and more.count('class="clip compact"') == 12
    assert "Older clips" in more
    count, listing = _queries(alice_client, "/v1/videos?limit=100", **api)
    assert count == small["api"] and len(json.loads(listing)["data"]) == 100


def test_job_list_shows_active_runs_and_the_last_days_failures(alice_project, alice):
    def make(status, finished_days_ago=None):
        finished = None
        if finished_days_ago is not None:
            finished = timezone.now() - timedelta(days=finished_days_ago)
        return Generation.objects.create(
            project=alice_project, requested_by=alice, engine="animatic", mode="text_to_video",
            recipe={}, status=status, finished_at=finished,
        )  # fmt: skip

    shown = {make("queued"), make("running"), make("failed", 0.5), make("cancelled", 0.1)}
    make("failed", 2)
    make("succeeded", 0.1)
    assert set(active_generations(alice_project)) == shown


def test_api_list_pages_through_a_project_key_and_a_team_key(client, alice):
    project = _seed(alice, 250)
    other = _seed(alice, 5)  # the team key sees both projects; the project key one
    for key_project, total in ((project, 250), (None, 255)):
        _, raw = api_key_create(team=project.team, user=alice, name="k", project=key_project)
        auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        seen, after = [], ""
        while True:
            body = client.get(f"/v1/videos?limit=100{after}", **auth).json()
            seen += [v["id"] for v in body["data"]]
            if not body["has_more"]:
                break
            after = f"&after={body['data'][-1]['id']}"
        assert len(seen) == len(set(seen)) == total
        expected = Generation.objects.filter(project__team=project.team)
        if key_project:
            expected = expected.filter(project=key_project)
        ordered = expected.order_by("-queued_at", "-pk").values_list("pk", flat=True)
        assert seen == [f"video_{pk.hex}" for pk in ordered]
    assert other.clips.count() == 5
