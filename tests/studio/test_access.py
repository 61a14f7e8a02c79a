"""Users never see another team's projects, generations or clips: every URL is checked."""

import pytest
from django.urls import reverse

from generation.spec import GenerationRequest
from studio.jobs.models import Clip
from studio.jobs.services import generation_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_things(alice, alice_project, redis_conn, tmp_path):
    g = generation_submit(
        project=alice_project,
        user=alice,
        engine_id="animatic",
        request=GenerationRequest(prompt="secret", width=64, height=64, num_frames=2, fps=8),
    )
    media = tmp_path / "media"
    (media / "clips").mkdir(parents=True)
    (media / "clips" / "a.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    (media / "clips" / "a.jpg").write_bytes(b"\xff\xd8\xff")
    clip = Clip.objects.create(
        generation=g,
        project=alice_project,
        file="clips/a.mp4",
        poster="clips/a.jpg",
        width=64,
        height=64,
        fps=8,
        num_frames=2,
    )
    return alice_project, g, clip


def urls(project, g, clip):
    return [
        ("get", reverse("project-detail", args=[project.pk])),
        ("post", reverse("generate", args=[project.pk])),
        ("get", reverse("prompt-form", args=[project.pk])),
        ("get", reverse("prompt-preview", args=[project.pk])),
        ("get", reverse("generation-detail", args=[g.pk])),
        ("post", reverse("generation-cancel", args=[g.pk])),
        ("get", reverse("clip-detail", args=[clip.pk])),
        ("get", reverse("clip-video", args=[clip.pk])),
        ("get", reverse("clip-poster", args=[clip.pk])),
        ("get", reverse("clip-download", args=[clip.pk])),
        ("get", reverse("clip-sprites", args=[clip.pk])),
        ("post", reverse("clip-derive", args=[clip.pk])),
        ("post", reverse("clip-remix", args=[clip.pk])),
        ("post", reverse("clip-delete", args=[clip.pk])),
        ("post", reverse("clip-favourite", args=[clip.pk])),
        ("post", reverse("clip-rename", args=[clip.pk])),
        ("get", reverse("clip-compare", args=[clip.pk])),
        ("get", reverse("clips-zip", args=[project.pk]) + f"?clip={clip.pk}"),
        ("post", reverse("project-rename", args=[project.pk])),
        ("post", reverse("project-footage", args=[project.pk])),
        ("post", reverse("generation-dismiss", args=[g.pk])),
    ]


def test_every_url_of_a_team_object_is_checked(alice_things):
    """A new page for a project, generation or clip must join the list above."""
    from studio.urls import urlpatterns

    covered = {url.split("?")[0] for _, url in urls(*alice_things)}
    project, g, clip = alice_things
    for pattern in urlpatterns:
        route = str(pattern.pattern)
        if (
            not getattr(pattern, "name", None)
            or "<" not in route
            or pattern.name == "api-key-revoke"
        ):
            continue  # API keys are not team objects of this kind; test_api_keys covers them.
        pk = g.pk if "uuid" in route else (project.pk if "projects" in route else clip.pk)
        assert reverse(pattern.name, args=[pk]) in covered, pattern.name


def test_other_team_gets_404_everywhere(client, bob, alice_things):
    client.force_login(bob)
    for method, url in urls(*alice_things):
        response = getattr(client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)
        assert b"secret" not in response.content


def test_anonymous_is_sent_to_login(client, alice_things):
    for method, url in urls(*alice_things):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_members_see_them(client, alice, alice_things):
    client.force_login(alice)
    for method, url in urls(*alice_things):
        if method == "get":
            assert getattr(client, method)(url).status_code == 200, url


def test_project_list_shows_only_my_teams(client, alice, bob, alice_project):
    client.force_login(bob)
    assert "Lighthouse" not in client.get(reverse("project-list")).content.decode()
    client.force_login(alice)
    assert "Lighthouse" in client.get(reverse("project-list")).content.decode()


def test_cannot_create_a_project_in_someone_elses_team(client, alice, bob):
    client.force_login(bob)
    alice_team = alice.memberships.get().team
    response = client.post(reverse("project-list"), {"name": "Intrusion", "team": alice_team.pk})
    assert response.status_code == 200
    assert "valid choice" in response.content.decode()
    assert not alice_team.projects.exists()


def test_signup_creates_personal_team_and_logs_in(client):
    response = client.post(
        reverse("signup"),
        {"username": "dora", "password1": "s3cret-Passw0rd!", "password2": "s3cret-Passw0rd!"},
    )
    assert response.status_code == 302
    page = client.get(reverse("project-list")).content.decode()
    assert "dora&#x27;s team" in page
    client.post(reverse("logout"))
    assert client.get(reverse("project-list")).status_code == 302


def test_an_expired_session_sends_htmx_to_the_login_page(client, alice_things):
    _, g, _ = alice_things
    response = client.get(reverse("generation-detail", args=[g.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/login/?next=")
