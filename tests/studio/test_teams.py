"""Teams: invitations, roles, ownership, moving projects, and access that ends at once."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from studio.projects.services import project_create, project_move
from studio.teams.models import Invitation, Membership, Team
from studio.teams.services import (
    TeamError,
    invitation_accept,
    invitation_digest,
    invitation_for_token,
    invitation_link_create,
    invitation_revoke,
    invitation_user_create,
    member_leave,
    member_remove,
    member_set_role,
    team_create,
    team_delete,
    team_rename,
    team_transfer_ownership,
)
from tests.studio.test_live import communicator

pytestmark = pytest.mark.django_db
Role = Membership.Role
WEEK = timedelta(days=7)


@pytest.fixture
def team(alice):
    return team_create(name="Harbour Films", owner=alice)


def role_of(user, team):
    return Membership.objects.filter(user=user, team=team).values_list("role", flat=True).first()


# Services


def test_a_link_is_stored_only_as_a_hash_and_joins_with_its_role(team, alice, bob):
    invitation, token = invitation_link_create(
        team=team, by=alice, role=Role.VIEWER, max_uses=1, expires_in=WEEK
    )
    assert token not in str(Invitation.objects.filter(pk=invitation.pk).values().get())
    assert invitation.token_digest == invitation_digest(token)
    assert invitation_for_token(token) == invitation
    invitation_accept(invitation=invitation, user=bob)
    assert role_of(bob, team) == Role.VIEWER


def test_a_single_use_link_is_used_up(team, alice, bob, carol):
    invitation, token = invitation_link_create(
        team=team, by=alice, role=Role.EDITOR, max_uses=1, expires_in=WEEK
    )
    invitation_accept(invitation=invitation, user=bob)
    with pytest.raises(TeamError, match="used up"):
        invitation_accept(invitation=invitation_for_token(token), user=carol)
    assert role_of(carol, team) is None


def test_an_n_use_link_takes_n_people(team, alice, bob, carol):
    dave = User.objects.create_user("dave", password="x")
    invitation, token = invitation_link_create(
        team=team, by=alice, role=Role.EDITOR, max_uses=2, expires_in=WEEK
    )
    invitation_accept(invitation=invitation, user=bob)
    invitation_accept(invitation=invitation_for_token(token), user=carol)
    with pytest.raises(TeamError, match="used up"):
        invitation_accept(invitation=invitation_for_token(token), user=dave)
    assert invitation_for_token(token).use_count == 2


def test_expired_and_revoked_links_refuse(team, alice, bob):
    expired, _ = invitation_link_create(
        team=team, by=alice, role=Role.EDITOR, max_uses=5, expires_in=WEEK
    )
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(1))
    expired.refresh_from_db()
    with pytest.raises(TeamError, match="expired"):
        invitation_accept(invitation=expired, user=bob)
    revoked, _ = invitation_link_create(
        team=team, by=alice, role=Role.EDITOR, max_uses=5, expires_in=WEEK
    )
    invitation_revoke(invitation=revoked, by=alice)
    with pytest.raises(TeamError, match="revoked"):
        invitation_accept(invitation=revoked, user=bob)
    assert role_of(bob, team) is None


def test_only_owners_invite(team, alice, bob):
    Membership.objects.create(team=team, user=bob, role=Role.EDITOR)
    with pytest.raises(TeamError, match="Only an owner"):
        invitation_link_create(team=team, by=bob, role=Role.EDITOR, expires_in=WEEK)
    with pytest.raises(TeamError, match="editor or a viewer"):
        invitation_link_create(team=team, by=alice, role=Role.OWNER, expires_in=WEEK)
    with pytest.raises(TeamError, match="from 1 to 100"):
        invitation_link_create(team=team, by=alice, role=Role.EDITOR, max_uses=0, expires_in=WEEK)


def test_invite_an_existing_user_by_username_or_email(team, alice, bob, carol):
    invitation = invitation_user_create(team=team, by=alice, who="bob", role=Role.EDITOR)
    assert invitation.invitee == bob
    with pytest.raises(TeamError, match="already has a pending invitation"):
        invitation_user_create(team=team, by=alice, who="BOB@example.com", role=Role.EDITOR)
    with pytest.raises(TeamError, match="for someone else"):
        invitation_accept(invitation=invitation, user=carol)
    invitation_accept(invitation=invitation, user=bob)
    assert role_of(bob, team) == Role.EDITOR
    assert invitation_user_create(team=team, by=alice, who="carol@example.com", role=Role.VIEWER)
    with pytest.raises(TeamError, match="already a member"):
        invitation_user_create(team=team, by=alice, who="bob", role=Role.EDITOR)
    with pytest.raises(TeamError, match="No one called zed"):
        invitation_user_create(team=team, by=alice, who="zed", role=Role.EDITOR)


def test_a_team_must_keep_an_owner(team, alice, bob):
    Membership.objects.create(team=team, user=bob, role=Role.EDITOR)
    mine = Membership.objects.get(team=team, user=alice)
    with pytest.raises(TeamError, match="A team must keep an owner"):
        member_set_role(membership=mine, by=alice, role=Role.EDITOR)
    with pytest.raises(TeamError, match="A team must keep an owner"):
        member_leave(team=team, user=alice)
    with pytest.raises(TeamError, match="A team must keep an owner"):
        member_remove(membership=mine, by=alice)
    with pytest.raises(TeamError, match="Only an owner"):
        member_set_role(membership=mine, by=bob, role=Role.VIEWER)
    team_transfer_ownership(team=team, by=alice, to=Membership.objects.get(team=team, user=bob))
    assert (role_of(alice, team), role_of(bob, team)) == (Role.EDITOR, Role.OWNER)
    member_leave(team=team, user=alice)
    assert role_of(alice, team) is None


def test_rename_and_delete_only_an_empty_team(team, alice, bob):
    team_rename(team=team, by=alice, name="  Harbour Pictures ")
    assert Team.objects.get(pk=team.pk).name == "Harbour Pictures"
    with pytest.raises(TeamError, match="Name the team"):
        team_rename(team=team, by=alice, name=" ")
    project = project_create(team=team, name="Pier", user=alice)
    with pytest.raises(TeamError, match="still has 1 project: move or delete"):
        team_delete(team=team, by=alice)
    project.delete()
    team_delete(team=team, by=alice)
    assert not Team.objects.filter(pk=team.pk).exists()
    with pytest.raises(TeamError, match="personal team cannot be deleted"):
        team_delete(team=alice.memberships.get().team, by=alice)


def test_move_a_project_between_teams_you_own(alice, bob, alice_project, team):
    bobs = bob.memberships.get().team
    with pytest.raises(TeamError, match="you do not own"):
        project_move(project=alice_project, to=bobs, by=alice)
    project_move(project=alice_project, to=team, by=alice)
    alice_project.refresh_from_db()
    assert alice_project.team == team
    Membership.objects.create(team=team, user=bob, role=Role.EDITOR)
    with pytest.raises(TeamError, match="Only an owner"):
        project_move(project=alice_project, to=bobs, by=bob)


def test_every_user_gets_a_personal_team_even_a_superuser(db):
    call_command("createsuperuser", "--noinput", username="root", email="root@example.com")
    root = User.objects.get(username="root")
    membership = root.memberships.get()
    assert membership.role == Role.OWNER and membership.team.personal


def test_a_superuser_can_create_a_project_from_the_page(client, db):
    call_command("createsuperuser", "--noinput", username="root", email="root@example.com")
    client.force_login(User.objects.get(username="root"))
    team = User.objects.get(username="root").memberships.get().team
    response = client.post(reverse("project-list"), {"name": "First", "team": team.pk})
    assert response.status_code == 302
    assert team.projects.get().name == "First"


# Pages


def test_team_pages_create_invite_accept(client, alice, bob):
    client.force_login(alice)
    response = client.post(reverse("team-list"), {"name": "Night Crew"})
    team = Team.objects.get(name="Night Crew")
    assert response["Location"] == reverse("team-detail", args=[team.pk])
    response = client.post(
        reverse("invite-link-create", args=[team.pk]),
        {"role": "viewer", "max_uses": "2", "expires": "1d"},
    )
    assert response.status_code == 200
    link = response.context["new_link"]
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert link in response.content.decode()
    # Shown once: the page does not show it again.
    assert token not in client.get(reverse("team-detail", args=[team.pk])).content.decode()

    client.force_login(bob)
    page = client.get(reverse("invite-link", args=[token]))
    assert page.status_code == 200 and "Join Night Crew" in page.content.decode()
    assert client.post(reverse("invite-link", args=[token]))["Location"] == reverse(
        "team-detail", args=[team.pk]
    )
    assert role_of(bob, team) == Role.VIEWER
    page = client.get(reverse("team-detail", args=[team.pk])).content.decode()
    assert "alice" in page and "bob" in page and "Create link" not in page


def test_anonymous_link_page_offers_sign_up_and_comes_back(client, team, alice):
    _, token = invitation_link_create(team=team, by=alice, role=Role.EDITOR, expires_in=WEEK)
    url = reverse("invite-link", args=[token])
    page = client.get(url).content.decode()
    assert "Sign up" in page and f"next={url}" in page.replace("%2F", "/")
    response = client.post(
        f"{reverse('signup')}?next={url}",
        {"username": "erin", "password1": "s3cret-Passw0rd!", "password2": "s3cret-Passw0rd!"},
    )
    assert response["Location"] == url
    client.post(url)
    assert role_of(User.objects.get(username="erin"), team) == Role.EDITOR


def test_bad_links_say_why(client, team, alice, bob):
    client.force_login(bob)
    assert client.get(reverse("invite-link", args=["nope"])).status_code == 404
    invitation, token = invitation_link_create(
        team=team, by=alice, role=Role.EDITOR, expires_in=WEEK
    )
    invitation_revoke(invitation=invitation, by=alice)
    page = client.get(reverse("invite-link", args=[token]))
    assert page.status_code == 410 and "revoked" in page.content.decode()
    response = client.post(reverse("invite-link", args=[token]))
    assert response.status_code == 400 and "was revoked" in response.content.decode()


def test_pending_invitation_is_accepted_from_the_teams_page(client, team, alice, bob):
    invitation = invitation_user_create(team=team, by=alice, who="bob", role=Role.VIEWER)
    client.force_login(bob)
    assert "Harbour Films" in client.get(reverse("team-list")).content.decode()
    client.post(reverse("invitation-accept", args=[invitation.pk]))
    assert role_of(bob, team) == Role.VIEWER
    again = client.post(reverse("invitation-accept", args=[invitation.pk]))
    assert again.status_code == 400 and "already a member" in again.content.decode()


def test_owner_changes_a_role_and_removes_a_member_with_htmx(client, team, alice, bob):
    bobs = Membership.objects.create(team=team, user=bob, role=Role.EDITOR)
    client.force_login(alice)
    response = client.post(
        reverse("member-role", args=[team.pk, bobs.pk]), {"role": "viewer"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and 'id="team-body"' in response.content.decode()
    assert role_of(bob, team) == Role.VIEWER
    mine = Membership.objects.get(team=team, user=alice)
    response = client.post(
        reverse("member-role", args=[team.pk, mine.pk]), {"role": "viewer"}, HTTP_HX_REQUEST="true"
    )
    assert "A team must keep an owner" in response.content.decode()
    response = client.post(reverse("member-role", args=[team.pk, mine.pk]), {"role": "boss"})
    assert (
        response.status_code == 400
        and "Choose owner, editor or viewer" in response.content.decode()
    )
    client.post(reverse("member-remove", args=[team.pk, bobs.pk]))
    assert role_of(bob, team) is None


def test_editors_and_viewers_cannot_manage(client, team, alice, bob):
    Membership.objects.create(team=team, user=bob, role=Role.EDITOR)
    alices = Membership.objects.get(team=team, user=alice)
    client.force_login(bob)
    assert client.post(reverse("member-remove", args=[team.pk, alices.pk])).status_code == 403
    assert client.post(reverse("team-rename", args=[team.pk]), {"name": "Mine"}).status_code == 403
    assert Team.objects.get(pk=team.pk).name == "Harbour Films"


def test_move_form_on_the_team_page(client, alice, alice_project, team):
    client.force_login(alice)
    personal = alice_project.team
    page = client.get(reverse("team-detail", args=[personal.pk])).content.decode()
    assert reverse("project-move", args=[alice_project.pk]) in page
    response = client.post(reverse("project-move", args=[alice_project.pk]), {"team": ""})
    assert response.status_code == 400 and "Choose the team" in response.content.decode()
    response = client.post(reverse("project-move", args=[alice_project.pk]), {"team": team.pk})
    assert response["Location"] == reverse("team-detail", args=[team.pk])
    alice_project.refresh_from_db()
    assert alice_project.team == team


def test_cards_and_clips_say_who_made_them(
    client, alice, bob, alice_project, run_worker, django_capture_on_commit_callbacks
):
    from studio.jobs.models import Clip
    from studio.prompts.services import prompt_submit

    Membership.objects.create(team=alice_project.team, user=bob, role=Role.EDITOR)
    data = {"engine": "animatic", "aspect_ratio": "1:1", "resolution": 64, "duration_s": 0.25,
            "fps": 8}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        prompt_submit(project=alice_project, user=bob, data={**data, "text": "gulls"})
    run_worker()
    prompt_submit(project=alice_project, user=alice, data={**data, "text": "terns"})
    client.force_login(alice)
    page = client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    assert '<span class="by">by alice</span>' in page  # the queued job's card
    assert '<dt>By</dt><dd class="by">bob</dd>' in page  # the finished clip in the gallery
    clip = Clip.objects.get()
    page = client.get(reverse("clip-detail", args=[clip.pk])).content.decode()
    assert '<dt>By</dt><dd class="by">bob</dd>' in page


# Losing access closes sockets


async def _closed(comm, timeout=5.0) -> dict:
    """Wait for the socket to be closed by the server; fail on any fragment meanwhile."""
    output = await comm.receive_output(timeout=timeout)
    assert output["type"] == "websocket.close", output
    return output


def _scenario(client, project, member, change):
    """Connect `member`'s socket, apply `change`, assert it closes and gets nothing after."""

    async def run():
        await sync_to_async(client.force_login)(member)
        socket = communicator(client, project.pk)
        assert (await socket.connect())[0]
        await sync_to_async(change)()
        closed = await _closed(socket)
        await get_channel_layer().group_send(
            f"project-{project.pk}", {"type": "generation.progress", "html": "<p>after</p>"}
        )
        assert await socket.receive_nothing(timeout=1.0)
        await socket.disconnect()
        return closed

    return asyncio.run(run())


@pytest.mark.django_db(transaction=True)
def test_a_removed_member_is_cut_off_at_once(client, alice, bob, alice_project, redis_conn):
    team = alice_project.team
    bobs = Membership.objects.create(team=team, user=bob, role=Role.VIEWER)
    closed = _scenario(client, alice_project, bob, lambda: member_remove(membership=bobs, by=alice))
    assert closed["code"] == 4403


@pytest.mark.django_db(transaction=True)
def test_a_deactivated_user_is_cut_off_at_once(client, alice, alice_project, redis_conn):
    def deactivate():
        alice.is_active = False
        alice.save(update_fields=["is_active"])

    assert _scenario(client, alice_project, alice, deactivate)["code"] == 4403


@pytest.mark.django_db(transaction=True)
def test_moving_a_project_cuts_off_the_old_team(client, alice, bob, alice_project, redis_conn):
    Membership.objects.create(team=alice_project.team, user=bob, role=Role.EDITOR)
    other = team_create(name="Elsewhere", owner=alice)
    _scenario(
        client, alice_project, bob, lambda: project_move(project=alice_project, to=other, by=alice)
    )


@pytest.mark.django_db(transaction=True)
def test_a_lowered_role_keeps_watching(client, alice, bob, alice_project, redis_conn):
    """Viewers may still watch, so a socket stays open when an editor becomes a viewer."""
    bobs = Membership.objects.create(team=alice_project.team, user=bob, role=Role.EDITOR)

    async def run():
        await sync_to_async(client.force_login)(bob)
        socket = communicator(client, alice_project.pk)
        assert (await socket.connect())[0]
        await sync_to_async(member_set_role)(membership=bobs, by=alice, role=Role.VIEWER)
        await asyncio.sleep(0.3)
        await get_channel_layer().group_send(
            f"project-{alice_project.pk}", {"type": "generation.progress", "html": "<p>still</p>"}
        )
        html = await socket.receive_from(timeout=5)
        await socket.disconnect()
        return html

    assert asyncio.run(run()) == "<p>still</p>"


def test_the_migration_gives_teamless_users_a_personal_team(alice):
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "studio.teams.migrations.0005_personal_teams_for_teamless_users"
    )
    alice.memberships.get().team.delete()  # e.g. an admin made before personal teams existed
    migration.forwards(apps, None)
    team = alice.memberships.get().team
    assert team.personal and team.name == "alice's team"


def test_leave_and_delete_from_the_page(client, alice, bob):
    team = team_create(name="Short Lived", owner=alice)
    Membership.objects.create(team=team, user=bob, role=Role.EDITOR)
    client.force_login(bob)
    assert client.post(reverse("team-leave", args=[team.pk]))["Location"] == reverse("team-list")
    assert role_of(bob, team) is None
    client.force_login(alice)
    response = client.post(reverse("team-leave", args=[team.pk]), HTTP_HX_REQUEST="true")
    assert "A team must keep an owner" in response.content.decode()
    response = client.post(reverse("team-delete", args=[team.pk]), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("team-list")
    assert not Team.objects.filter(pk=team.pk).exists()


def test_transfer_from_the_page(client, alice, bob):
    team = team_create(name="Handover", owner=alice)
    bobs = Membership.objects.create(team=team, user=bob, role=Role.VIEWER)
    client.force_login(alice)
    response = client.post(
        reverse("team-transfer", args=[team.pk]), {"member": bobs.pk}, HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert (role_of(alice, team), role_of(bob, team)) == (Role.EDITOR, Role.OWNER)
    assert "You are an editor" in page and "Create link" not in page
    response = client.post(reverse("team-transfer", args=[team.pk]), {"member": "x"})
    assert response.status_code == 403  # alice is no longer an owner


@pytest.mark.django_db(transaction=True)
def test_a_removed_member_gets_no_more_cards_from_real_jobs(
    client, alice, bob, alice_project, run_worker
):
    """The reproduction from the reliability issue: removed, and the live cards kept coming."""
    from studio.jobs.models import Generation
    from studio.prompts.services import prompt_submit
    from tests.studio.test_live import collect

    bobs = Membership.objects.create(team=alice_project.team, user=bob, role=Role.VIEWER)
    data = {"engine": "animatic", "aspect_ratio": "1:1", "resolution": 64, "duration_s": 1,
            "fps": 8}  # fmt: skip

    async def run():
        await sync_to_async(client.force_login)(bob)
        socket = communicator(client, alice_project.pk)
        assert (await socket.connect())[0]
        submit = sync_to_async(prompt_submit)
        await submit(project=alice_project, user=alice, data={**data, "text": "before"})
        await sync_to_async(run_worker, thread_sensitive=False)()
        before = await collect(socket, lambda html: "<video" in html)
        await sync_to_async(member_remove)(membership=bobs, by=alice)
        closed = await _closed(socket)
        await submit(project=alice_project, user=alice, data={**data, "text": "after"})
        await sync_to_async(run_worker, thread_sensitive=False)()
        assert await socket.receive_nothing(timeout=1.0)
        return before, closed

    before, closed = asyncio.run(run())
    assert closed["code"] == 4403 and any("before" in html for html in before)
    assert Generation.objects.filter(status="succeeded").count() == 2


# The team page's follow-ups: usage, the AI mark, the invitation badge, moved keys, staff


def test_the_team_page_links_to_usage_and_loads_its_brief(client, alice, alice_project):
    from studio.jobs.models import Generation

    team = alice_project.team
    team.monthly_engine_seconds = 600
    team.max_concurrent_jobs = 3
    team.save(update_fields=["monthly_engine_seconds", "max_concurrent_jobs"])
    now = timezone.now()
    for status, seconds in (("succeeded", 150.0), ("running", 0.0)):
        Generation.objects.create(
            project=alice_project, requested_by=alice, engine="animatic", recipe={},
            status=status, started_at=now, engine_seconds=seconds,
        )  # fmt: skip
    client.force_login(alice)
    usage = reverse("team-usage", args=[team.pk])
    page = client.get(reverse("team-detail", args=[team.pk])).content.decode()
    assert f'href="{usage}"' in page and f'hx-get="{usage}"' in page
    brief = client.get(usage, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="team-usage-brief")
    html = brief.content.decode()
    assert brief.status_code == 200 and 'id="team-usage-brief"' in html
    assert "<html" not in html and "hx-get" not in html  # a fragment that does not reload itself
    assert '<dd id="brief-seconds">150 / 600 s</dd>' in html
    assert '<dd id="brief-jobs">1 / 3</dd>' in html and "25% of the budget" in html
    # Any other request gets the whole page, and outsiders get nothing.
    assert "By member" in client.get(usage).content.decode()
    client.force_login(User.objects.create_user("mallory"))
    response = client.get(usage, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="team-usage-brief")
    assert response.status_code == 404 and b"150" not in response.content


def test_owner_turns_the_ai_mark_on_and_off_with_htmx(client, team, alice):
    from studio.teams.services import team_set_ai_mark

    url = reverse("team-ai-mark", args=[team.pk])
    client.force_login(alice)
    page = client.get(reverse("team-detail", args=[team.pk])).content.decode()
    assert f'hx-post="{url}"' in page and "Turn on" in page
    assert "new clips from this team's projects get a small" in page
    response = client.post(url, {"ai_mark": "on"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Turn off" in response.content.decode()
    assert Team.objects.get(pk=team.pk).ai_mark is True
    assert client.post(url)["Location"] == reverse("team-detail", args=[team.pk])  # no JS: off
    assert Team.objects.get(pk=team.pk).ai_mark is False
    with pytest.raises(TeamError, match="Only an owner"):
        team_set_ai_mark(team=team, by=User.objects.create_user("nobody"), enabled=True)


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_editors_and_viewers_cannot_change_the_ai_mark(client, team, bob, role):
    Membership.objects.create(team=team, user=bob, role=role)
    client.force_login(bob)
    page = client.get(reverse("team-detail", args=[team.pk])).content.decode()
    assert "team-ai-mark" not in page and "mark on new clips: <strong>off</strong>" in page
    assert (
        client.post(reverse("team-ai-mark", args=[team.pk]), {"ai_mark": "on"}).status_code == 403
    )
    assert Team.objects.get(pk=team.pk).ai_mark is False


def test_outsiders_do_not_find_the_ai_mark(client, team, carol):
    client.force_login(carol)
    assert (
        client.post(reverse("team-ai-mark", args=[team.pk]), {"ai_mark": "on"}).status_code == 404
    )
    assert Team.objects.get(pk=team.pk).ai_mark is False


def test_the_teams_link_counts_my_pending_invitations(client, team, alice, bob, carol):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    other = team_create(name="Dock Crew", owner=carol)
    first = invitation_user_create(team=team, by=alice, who="bob", role=Role.VIEWER)
    invitation_user_create(team=other, by=carol, who="bob", role=Role.EDITOR)
    invitation_link_create(team=team, by=alice, role=Role.EDITOR, expires_in=WEEK)  # not bob's
    client.force_login(bob)

    def nav() -> str:
        html = client.get(reverse("project-list")).content.decode()
        return html.split('id="nav-teams"', 1)[1].split("</a>", 1)[0]

    assert ">2<" in nav() and "pending invitations" in nav()
    invitation_revoke(invitation=first, by=alice)
    assert ">1<" in nav() and "pending invitation<" in nav()
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("project-list"))
    assert sum("teams_invitation" in q["sql"] for q in ctx.captured_queries) == 1
    client.force_login(alice)
    assert "nav-count" not in nav()
    client.logout()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("login")).status_code == 200
    assert not any("teams_invitation" in q["sql"] for q in ctx.captured_queries)


def test_moving_a_project_revokes_the_old_teams_keys_for_it(client, alice, alice_project, team):
    from studio.keys.models import ApiKey
    from studio.keys.services import api_key_create

    personal = alice_project.team
    other = project_create(team=personal, name="Other", user=alice)
    moved_key, raw = api_key_create(
        team=personal, user=alice, name="lighthouse", project=alice_project
    )
    other_key, _ = api_key_create(team=personal, user=alice, name="other", project=other)
    team_key, _ = api_key_create(team=personal, user=alice, name="team-wide")
    project_move(project=alice_project, to=team, by=alice)
    keys = {k.name: k for k in ApiKey.objects.all()}
    assert keys["lighthouse"].revoked_at is not None
    assert keys["other"].revoked_at is None and keys["team-wide"].revoked_at is None
    client.force_login(alice)
    page = client.get(reverse("api-keys")).content.decode()
    row = page.split(f'id="key-{moved_key.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "revoked" in row
    response = client.get("/v1/videos", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401 and "was revoked" in response.content.decode()


def test_a_failed_move_keeps_the_keys(alice, alice_project, bob):
    from studio.keys.services import api_key_create

    key, _ = api_key_create(team=alice_project.team, user=alice, name="k", project=alice_project)
    with pytest.raises(TeamError):
        project_move(project=alice_project, to=bob.memberships.get().team, by=alice)
    key.refresh_from_db()
    assert key.revoked_at is None


def test_a_createsuperuser_admin_logs_in_creates_a_project_and_generates(
    client, db, monkeypatch, run_worker, django_capture_on_commit_callbacks
):
    from studio.jobs.models import Clip, Generation

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "root-pass-123")
    call_command("createsuperuser", "--noinput", username="root", email="root@example.com")
    response = client.post(reverse("login"), {"username": "root", "password": "root-pass-123"})
    assert response.status_code == 302
    team = User.objects.get(username="root").memberships.get().team
    client.post(reverse("project-list"), {"name": "First", "team": team.pk})
    project = team.projects.get(name="First")
    data = {"text": "a lighthouse at dusk", "engine": "animatic", "aspect_ratio": "1:1",
            "resolution": 64, "duration_s": 0.25, "fps": 8, "negative_text": "",
            "camera_motion": "static", "style_preset": ""}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("generate", args=[project.pk]), data)
    assert response.status_code == 302
    run_worker()
    generation = Generation.objects.get(project=project)
    assert generation.status == "succeeded", generation.error
    assert Clip.objects.filter(project=project, generation=generation).exists()
