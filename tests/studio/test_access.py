"""Who may do what: every URL pattern and the websocket route × owner, editor, viewer,
outsider, anonymous and staff, each with the status it must answer.

Non-members get 404 (the object does not exist for them), members below the role 403,
anonymous visitors the login page. Staff are outsiders unless they are members.
A new URL pattern fails `test_every_url_pattern_is_in_the_matrix` until it joins MATRIX.
"""

import asyncio
import uuid
from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, reverse

from generation.spec import GenerationRequest
from studio.jobs.models import Clip, Generation
from studio.jobs.services import generation_submit
from studio.keys.services import api_key_create
from studio.projects.services import project_create
from studio.teams.models import Invitation, Membership, Team
from studio.teams.services import invitation_link_create, invitation_user_create, team_create
from tests.studio.test_live import communicator

pytestmark = pytest.mark.django_db

ROLES = ("owner", "editor", "viewer", "outsider", "anonymous", "staff")
LOGIN = "login"  # a redirect to the login page


@dataclass
class World:
    users: dict
    team: Team
    project: object
    generation: Generation
    clip: Clip
    members: dict
    link: Invitation
    token: str
    outsider_invitation: Invitation
    owner_key_pk: int
    keys: dict


@pytest.fixture
def world(redis_conn, tmp_path, settings):
    users = {}
    for name, role in [("olive", "owner"), ("ed", "editor"), ("vic", "viewer"),
                       ("otto", "outsider"), ("stan", "staff")]:  # fmt: skip
        users[role] = User.objects.create_user(name, f"{name}@example.com", f"{name}-pass-123")
    users["staff"].is_staff = True
    users["staff"].save(update_fields=["is_staff"])
    team = team_create(name="Crew", owner=users["owner"])
    members = {"owner": Membership.objects.get(team=team, user=users["owner"])}
    for role in ("editor", "viewer"):
        members[role] = Membership.objects.create(team=team, user=users[role], role=role)
    project = project_create(team=team, name="Secret Lighthouse", user=users["owner"])
    g = generation_submit(
        project=project,
        user=users["owner"],
        engine_id="animatic",
        request=GenerationRequest(prompt="secret", width=64, height=64, num_frames=2, fps=8),
    )
    Generation.objects.filter(pk=g.pk).update(status="succeeded", step=1, total_steps=1)
    media = settings.MEDIA_ROOT
    (media / "clips").mkdir(parents=True)
    (media / "clips" / "a.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    (media / "clips" / "a.jpg").write_bytes(b"\xff\xd8\xff")
    clip = Clip.objects.create(
        generation=g, project=project, file="clips/a.mp4", poster="clips/a.jpg",
        width=64, height=64, fps=8, num_frames=2,
    )  # fmt: skip
    link, token = invitation_link_create(
        team=team, by=users["owner"], role="viewer", max_uses=5,
        expires_in=__import__("datetime").timedelta(days=1),
    )  # fmt: skip
    outsider_invitation = invitation_user_create(
        team=team, by=users["owner"], who="otto", role="viewer"
    )
    owner_key, _ = api_key_create(team=team, user=users["owner"], name="owner's")
    keys = {}
    for role in ("owner", "editor", "viewer"):
        keys[role] = api_key_create(team=team, user=users[role], name=role)[1]
    for role in ("outsider", "staff"):
        own = users[role].memberships.get().team
        keys[role] = api_key_create(team=own, user=users[role], name=role)[1]
    return World(users, team, project, g, clip, members, link, token, outsider_invitation,
                 owner_key.pk, keys)  # fmt: skip


def S(statuses: str) -> dict:
    """'200 200 200 404 login 404' → a status (or LOGIN) per role, in ROLES order."""
    values = statuses.split()
    assert len(values) == len(ROLES)
    return {role: (v if v == LOGIN else int(v)) for role, v in zip(ROLES, values, strict=True)}


MEMBERS_READ = S("200 200 200 404 login 404")
MEMBERS_GO = S("302 302 302 404 login 404")
OWNER_ONLY = S("302 403 403 404 login 404")
ANY_USER = S("200 200 200 200 login 200")
STAFF_ONLY = S("404 404 404 404 login 200")
EDITORS_GO = S("302 302 403 404 login 404")
EDITORS_400 = S("400 400 403 404 login 404")  # an empty form, refused with a reason
STAFF_GO = S("404 404 404 404 login 302")

# name: (method, args(world), data(world), expected)
MATRIX = {
    # Pages with no object
    "home": ("get", None, None, S("302 302 302 302 302 302")),
    "signup": ("get", None, None, S("302 302 302 302 200 302")),
    "login": ("get", None, None, S("200 200 200 200 200 200")),
    "logout": ("post", None, None, S("302 302 302 302 302 302")),
    "project-list": ("get", None, None, ANY_USER),
    "api-keys": ("get", None, None, ANY_USER),
    "team-list": ("get", None, None, ANY_USER),
    # Projects, jobs, clips
    "project-detail": ("get", lambda w: [w.project.pk], None, MEMBERS_READ),
    "generate": ("post", lambda w: [w.project.pk], None, S("400 400 403 404 login 404")),
    "project-move": (
        "post",
        lambda w: [w.project.pk],
        lambda w: {"team": w.users["owner"].memberships.get(team__personal=True).team_id},
        S("302 403 403 404 login 404"),
    ),
    "generation-detail": ("get", lambda w: [w.generation.pk], None, MEMBERS_READ),
    "generation-preview": ("get", lambda w: [_preview(w).pk], None, MEMBERS_READ),
    "generation-cancel": (
        "post",
        lambda w: [w.generation.pk],
        None,
        S("302 302 403 404 login 404"),
    ),
    "clip-detail": ("get", lambda w: [w.clip.pk], None, MEMBERS_READ),
    "clip-video": ("get", lambda w: [w.clip.pk], None, MEMBERS_READ),
    "clip-poster": ("get", lambda w: [w.clip.pk], None, MEMBERS_READ),
    "clip-thumbnail": ("get", lambda w: [w.clip.pk], None, MEMBERS_READ),
    "clip-download": ("get", lambda w: [w.clip.pk], None, MEMBERS_READ),
    "clip-derive": ("post", lambda w: [w.clip.pk], None, S("200 200 403 404 login 404")),
    "clip-remix": ("post", lambda w: [w.clip.pk], None, S("400 400 403 404 login 404")),
    "clip-delete": ("post", lambda w: [w.clip.pk], None, S("302 302 403 404 login 404")),
    "prompt-form": ("get", lambda w: [w.project.pk], None, S("200 200 403 404 login 404")),
    "prompt-preview": ("get", lambda w: [w.project.pk], None, S("200 200 403 404 login 404")),
    "clip-sprites": ("get", lambda w: [w.clip.pk], None, MEMBERS_READ),
    "clip-favourite": ("post", lambda w: [w.clip.pk], lambda w: {"favourite": "1"}, EDITORS_GO),
    "clip-rename": ("post", lambda w: [w.clip.pk], lambda w: {"title": "A title"}, EDITORS_GO),
    "clip-compare": ("get", lambda w: [w.clip.pk], None, MEMBERS_READ),
    "clips-zip": ("get", lambda w: [w.project.pk], lambda w: {"clip": w.clip.pk}, MEMBERS_READ),
    "project-rename": ("post", lambda w: [w.project.pk], lambda w: {"name": "Renamed"}, EDITORS_GO),
    "project-footage": ("post", lambda w: [w.project.pk], None, EDITORS_400),
    # The run is still queued: only failed or cancelled cards are dismissed (400, with why).
    "generation-dismiss": ("post", lambda w: [w.generation.pk], None, EDITORS_400),
    # The run is not a failed long video: resuming it is refused (400, with why).
    "generation-resume": ("post", lambda w: [w.generation.pk], None, EDITORS_400),
    "api-key-revoke": ("post", lambda w: [w.owner_key_pk], None, S("302 404 404 404 login 404")),
    # Teams
    "team-detail": ("get", lambda w: [w.team.pk], None, MEMBERS_READ),
    "team-usage": ("get", lambda w: [w.team.pk], None, MEMBERS_READ),
    "team-rename": ("post", lambda w: [w.team.pk], lambda w: {"name": "Renamed"}, OWNER_ONLY),
    "team-ai-mark": ("post", lambda w: [w.team.pk], lambda w: {"ai_mark": "on"}, OWNER_ONLY),
    # The owner is the last owner, and the team still has a project: both refused with a reason.
    "team-delete": ("post", lambda w: [w.team.pk], None, S("400 403 403 404 login 404")),
    "team-leave": ("post", lambda w: [w.team.pk], None, S("400 302 302 404 login 404")),
    "team-transfer": (
        "post",
        lambda w: [w.team.pk],
        lambda w: {"member": w.members["editor"].pk},
        OWNER_ONLY,
    ),
    "member-role": (
        "post",
        lambda w: [w.team.pk, w.members["viewer"].pk],
        lambda w: {"role": "editor"},
        OWNER_ONLY,
    ),
    "member-remove": ("post", lambda w: [w.team.pk, w.members["viewer"].pk], None, OWNER_ONLY),
    "invite-link-create": (
        "post",
        lambda w: [w.team.pk],
        lambda w: {"role": "viewer", "max_uses": "1", "expires": "1d"},
        S("200 403 403 404 login 404"),
    ),
    "invite-user-create": (
        "post",
        lambda w: [w.team.pk],
        lambda w: {"who": "stan", "role": "viewer"},
        OWNER_ONLY,
    ),
    "invitation-revoke": ("post", lambda w: [w.team.pk, w.link.pk], None, OWNER_ONLY),
    # Addressed to the outsider: only they can answer it.
    "invitation-accept": (
        "post",
        lambda w: [w.outsider_invitation.pk],
        None,
        S("404 404 404 302 login 404"),
    ),
    "invitation-decline": (
        "post",
        lambda w: [w.outsider_invitation.pk],
        None,
        S("404 404 404 302 login 404"),
    ),
    # The link is the credential: anyone holding it sees whom it invites, and may join.
    "invite-link": ("get", lambda w: [w.token], None, S("200 200 200 200 200 200")),
    # Reporting a clip: members (an empty form is a 400 naming what is missing).
    "clip-report": ("post", lambda w: [w.clip.pk], None, S("400 400 400 404 login 404")),
    # The moderation panel: staff only; everyone else is told there is nothing here.
    "moderation-queue": ("get", None, None, STAFF_ONLY),
    # The Models page (downloads): staff only, like the moderation panel.
    "library:index": ("get", None, None, STAFF_ONLY),
    "library:row": ("get", lambda w: ["wan-t2v-1.3b"], None, STAFF_ONLY),
    "library:fetch": ("post", lambda w: ["wan-t2v-1.3b"], None, STAFF_GO),
    "library:cancel": ("post", lambda w: ["wan-t2v-1.3b"], None, STAFF_GO),
    "library:delete": ("post", lambda w: ["wan-t2v-1.3b"], None, S("404 404 404 404 login 400")),
    "moderation-clip-act": ("post", lambda w: [w.clip.pk], None, S("404 404 404 404 login 400")),
    "moderation-clip-video": ("get", lambda w: [w.clip.pk], None, STAFF_ONLY),
    "moderation-clip-poster": ("get", lambda w: [w.clip.pk], None, STAFF_ONLY),
    "moderation-policy": ("get", None, None, STAFF_ONLY),
    "moderation-rule-remove": ("post", lambda w: [_policy_rule().pk], None, STAFF_GO),
    "moderation-audit": ("get", None, None, STAFF_ONLY),
    "machine:index": ("get", None, None, STAFF_ONLY),
    "moderation-projects": ("get", None, None, STAFF_ONLY),
    "moderation-project": ("get", lambda w: [w.project.pk], None, STAFF_ONLY),
    "moderation-user-reinstate": (
        "post",
        lambda w: [w.users["viewer"].pk],
        None,
        STAFF_GO,
    ),
    # Storyboards: members read; editors change and generate; viewers are refused.
    "storyboard-list": ("get", lambda w: [w.project.pk], None, MEMBERS_READ),
    "storyboard-detail": ("get", lambda w: [_board(w).pk], None, MEMBERS_READ),
    "storyboard-delete": ("post", lambda w: [_board(w).pk], None, EDITORS_GO),
    "shot-add": ("post", lambda w: [_board(w).pk], None, EDITORS_400),
    "storyboard-reorder": ("post", lambda w: [_board(w).pk], None, EDITORS_400),
    "storyboard-generate": ("post", lambda w: [_board(w).pk], None, EDITORS_GO),
    "storyboard-export": ("post", lambda w: [_board(w).pk], None, EDITORS_400),
    # The shot has no image: 404 for members too (a member with an image: test_storyboards).
    "shot-image": ("get", lambda w: [_shot(w).pk], None, S("404 404 404 404 login 404")),
    "shot-edit": ("post", lambda w: [_shot(w).pk], None, S("200 200 403 404 login 404")),
    "shot-delete": ("post", lambda w: [_shot(w).pk], None, EDITORS_GO),
    "shot-duplicate": ("post", lambda w: [_shot(w).pk], None, EDITORS_GO),
    "shot-move": ("post", lambda w: [_shot(w).pk], None, EDITORS_400),
    "shot-generate": ("post", lambda w: [_shot(w).pk], None, EDITORS_GO),
    "take-choose": ("post", lambda w: [_take(w).pk], None, EDITORS_GO),
}


def _preview(w):
    from studio.jobs.live import preview_store

    preview_store(w.generation, b"\xff\xd8\xff", 1)  # the running card's latest frame
    return w.generation


def _board(w):
    from studio.storyboards.services import shot_add, storyboard_create

    board = storyboard_create(
        project=w.project, user=w.users["owner"], name="Secret board", engine="animatic"
    )
    shot_add(storyboard=board, data={"description": "a secret shot", "duration": 2})
    return board


def _shot(w):
    return _board(w).shots.get()


def _take(w):
    from studio.storyboards.models import Take

    return Take.objects.create(shot=_shot(w), generation=w.generation)


def _policy_rule():
    from studio.moderation.models import PolicyCategory, PolicyRule

    category = PolicyCategory.objects.create(name="Spam")
    return PolicyRule.objects.create(category=category, pattern="buy now")


# Posting to the link joins (members are sent to the team page; anonymous to log in first).
POST_INVITE_LINK = S("302 302 302 302 login 302")


def _flatten(patterns, prefix="", namespace=""):
    """(route, name) of every pattern; names in an app namespace as `reverse` takes them."""
    for p in patterns:
        if isinstance(p, URLResolver):
            inner = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _flatten(p.url_patterns, prefix + str(p.pattern), inner)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), f"{namespace}{p.name}" if p.name else None


def test_every_url_pattern_is_in_the_matrix():
    """The admin (staff only) and /v1 (bearer keys) have their own rows below."""
    from studio.urls import urlpatterns

    for route, name in _flatten(urlpatterns):
        if route.startswith(("admin/", "v1/")):
            continue
        assert name in MATRIX, f"{route} ({name}) is not in the access matrix"


def _login(client, world, role):
    if role != "anonymous":
        client.force_login(world.users[role])


def _check(response, want, what):
    if want == LOGIN:
        assert response.status_code == 302, (what, response.status_code)
        assert response["Location"].startswith(reverse("login")), (what, response["Location"])
    else:
        assert response.status_code == want, (what, response.status_code)
    if want in (403, 404, LOGIN):
        assert b"secret" not in response.content.lower(), what


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_matrix(client, world, name, role):
    method, args, data, expected = MATRIX[name]
    _login(client, world, role)
    url = reverse(name, args=args(world) if args else None)
    response = getattr(client, method)(url, data(world) if data else {})
    _check(response, expected[role], (method, url, role))


@pytest.mark.parametrize("role", ROLES)
def test_matrix_joining_by_link(client, world, role):
    _login(client, world, role)
    response = client.post(reverse("invite-link", args=[world.token]))
    _check(response, POST_INVITE_LINK[role], role)
    if role in ("outsider", "staff"):
        assert Membership.objects.get(team=world.team, user=world.users[role]).role == "viewer"


@pytest.mark.parametrize("role", ROLES)
def test_matrix_admin_is_for_staff(client, world, role):
    _login(client, world, role)
    response = client.get(reverse("admin:index"))
    if role == "staff":
        assert response.status_code == 200
    else:
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


# The API, with each role's own key (outsiders and staff hold keys of their own teams).
API_MATRIX = {
    "retrieve": ("get", "/v1/videos/{vid}", S("200 200 200 404 401 404")),
    "content": ("get", "/v1/videos/{vid}/content", S("200 200 200 404 401 404")),
    "remix": ("post", "/v1/videos/{vid}/remix", S("200 200 403 404 401 404")),
    "delete": ("delete", "/v1/videos/{vid}", S("200 200 403 404 401 404")),
    "list": ("get", "/v1/videos", S("200 200 200 200 401 200")),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(API_MATRIX))
def test_api_matrix(client, world, name, role):
    method, path, expected = API_MATRIX[name]
    vid = f"video_{uuid.UUID(str(world.generation.pk)).hex}"
    headers = {} if role == "anonymous" else {"HTTP_AUTHORIZATION": f"Bearer {world.keys[role]}"}
    url = path.format(vid=vid)
    if method == "post":
        response = client.post(
            url, {"prompt": "a new take"}, content_type="application/json", **headers
        )
    else:
        response = getattr(client, method)(url, **headers)
    assert response.status_code == expected[role], (name, role, response.content[:300])
    if name == "list" and role in ("outsider", "staff"):
        assert vid not in response.content.decode()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.django_db(transaction=True)
def test_matrix_websocket(client, world, role):
    """Members watch the project's live cards; everyone else is refused (4403)."""
    expected = role in ("owner", "editor", "viewer")

    async def connect():
        if role != "anonymous":
            await sync_to_async(client.force_login)(world.users[role])
        socket = communicator(client, world.project.pk)
        connected, code = await socket.connect()
        await socket.disconnect()
        return connected, code

    connected, code = asyncio.run(connect())
    assert connected is expected, role
    if not expected:
        assert code == 4403


# Behaviour beyond status codes


def test_other_team_sees_nothing_of_ours(client, world):
    client.force_login(world.users["staff"])
    assert "Secret Lighthouse" not in client.get(reverse("project-list")).content.decode()
    assert "Crew" not in client.get(reverse("team-list")).content.decode()


def test_cannot_create_a_project_in_someone_elses_team(client, alice, bob):
    client.force_login(bob)
    alice_team = alice.memberships.get().team
    response = client.post(reverse("project-list"), {"name": "Intrusion", "team": alice_team.pk})
    assert response.status_code == 200
    assert "valid choice" in response.content.decode()
    assert not alice_team.projects.exists()


def test_viewers_cannot_create_projects_in_the_team(client, world):
    client.force_login(world.users["viewer"])
    response = client.post(reverse("project-list"), {"name": "Sneaky", "team": world.team.pk})
    assert "valid choice" in response.content.decode()


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


def test_signup_ignores_a_next_that_leaves_the_site(client):
    response = client.post(
        f"{reverse('signup')}?next=https://evil.example/",
        {"username": "dora", "password1": "s3cret-Passw0rd!", "password2": "s3cret-Passw0rd!"},
    )
    assert response["Location"] == reverse("project-list")


def test_an_expired_session_sends_htmx_to_the_login_page(client, world):
    response = client.get(
        reverse("generation-detail", args=[world.generation.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/login/?next=")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.django_db(transaction=True)
def test_matrix_models_websocket(client, world, role):
    """Only staff watch the Models page's downloads; everyone else is refused (4403)."""
    from channels.testing import WebsocketCommunicator
    from django.conf import settings as django_settings

    from studio.asgi import application

    async def connect():
        if role != "anonymous":
            await sync_to_async(client.force_login)(world.users[role])
        cookie = client.cookies.get(django_settings.SESSION_COOKIE_NAME)
        headers = [(b"origin", b"http://testserver")]
        if cookie:
            headers.append((b"cookie", f"{cookie.key}={cookie.value}".encode()))
        socket = WebsocketCommunicator(application, "/ws/staff/models/", headers=headers)
        connected, code = await socket.connect()
        await socket.disconnect()
        return connected, code

    connected, code = asyncio.run(connect())
    assert connected is (role == "staff"), role
    if role != "staff":
        assert code == 4403
