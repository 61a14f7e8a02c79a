"""API keys: made on /keys/ or by the command, shown once, stored as a digest, revoked by the right people."""

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse

from studio.keys.models import ApiKey
from studio.keys.services import api_key_create, api_key_digest
from studio.projects.services import project_create
from studio.teams.models import Membership, Team
from studio.teams.services import member_add, team_create

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"sk-studio-[A-Za-z0-9_-]{20,}")


def team_of(user) -> Team:
    return user.memberships.get(team__personal=True, role=Membership.Role.OWNER).team


def create_via_page(client, **data) -> tuple:
    response = client.post(reverse("api-keys"), data)
    return response, response.content.decode()


def test_create_shows_the_secret_once_and_stores_only_its_digest(
    alice_client, alice, alice_project
):
    response, html = create_via_page(
        alice_client, name="render farm", team=team_of(alice).pk, project=alice_project.pk
    )

    assert response.status_code == 200
    assert "Copy it now: it is not shown again" in html
    raw = SECRET.search(html).group()
    assert 'base_url="http://testserver/v1"' in html
    assert f'api_key="{raw}"' in html
    key = ApiKey.objects.get()
    assert (key.name, key.team, key.project, key.created_by) == (
        "render farm",
        team_of(alice),
        alice_project,
        alice,
    )
    assert key.digest == api_key_digest(raw)
    row = ApiKey.objects.filter(pk=key.pk).values().get()
    assert not [column for column, value in row.items() if raw in str(value)]
    assert raw.startswith(key.prefix) and len(key.prefix) < len(raw)
    assert "no-store" in response["Cache-Control"]

    later = alice_client.get(reverse("api-keys")).content.decode()
    assert raw not in later
    assert SECRET.search(later) is None
    assert f"{key.prefix}…" in later
    assert "render farm" in later and "Lighthouse" in later


def test_a_key_without_project_covers_all_projects(alice_client, alice):
    response, html = create_via_page(alice_client, name="all", team=team_of(alice).pk)

    assert ApiKey.objects.get().project is None
    listing = alice_client.get(reverse("api-keys")).content.decode()
    assert "All projects" in listing
    assert "Never" in listing


def test_project_of_another_team_is_a_form_error(alice_client, alice, bob, alice_project):
    member_add(team=team_of(bob), user=alice, role=Membership.Role.EDITOR)

    response, html = create_via_page(
        alice_client, name="mixed", team=team_of(bob).pk, project=alice_project.pk
    )

    assert response.status_code == 200
    assert "Lighthouse is not a project of bob&#x27;s team." in html
    assert SECRET.search(html) is None
    assert not ApiKey.objects.exists()


def test_teams_and_projects_outside_the_users_reach_are_refused(alice_client, alice, bob):
    bobs_project = project_create(team=team_of(bob), name="Bob's film", user=bob)

    _, foreign_team = create_via_page(alice_client, name="x", team=team_of(bob).pk)
    _, foreign_project = create_via_page(
        alice_client, name="x", team=team_of(alice).pk, project=bobs_project.pk
    )

    assert "Select a valid choice" in foreign_team
    assert "Select a valid choice" in foreign_project
    assert not ApiKey.objects.exists()


def test_viewers_cannot_make_keys_for_a_team(alice_client, alice, bob):
    member_add(team=team_of(bob), user=alice, role=Membership.Role.VIEWER)

    page = alice_client.get(reverse("api-keys")).content.decode()
    _, html = create_via_page(alice_client, name="x", team=team_of(bob).pk)

    assert f'<option value="{team_of(bob).pk}"' not in page
    assert f'<option value="{team_of(alice).pk}"' in page
    assert "Select a valid choice" in html
    assert not ApiKey.objects.exists()


def test_other_users_neither_see_nor_revoke_a_key(client, alice, bob):
    key, raw = api_key_create(team=team_of(alice), user=alice, name="alice-secret-script")
    client.force_login(bob)

    page = client.get(reverse("api-keys")).content.decode()
    response = client.post(reverse("api-key-revoke", args=[key.pk]))

    assert "alice-secret-script" not in page and key.prefix not in page
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.is_active


def test_an_owner_revokes_a_key_an_editor_made(client, alice, bob):
    team = team_of(alice)
    member_add(team=team, user=bob, role=Membership.Role.EDITOR)
    bobs_key, _ = api_key_create(team=team, user=bob, name="bob-in-alice-team")
    client.force_login(alice)

    page = client.get(reverse("api-keys")).content.decode()
    response = client.post(reverse("api-key-revoke", args=[bobs_key.pk]))

    assert "bob-in-alice-team" in page and "by bob" in page
    assert response.status_code == 302
    assert response["Location"] == reverse("api-keys")
    bobs_key.refresh_from_db()
    assert not bobs_key.is_active


def test_an_editor_cannot_revoke_the_owners_key(client, alice, bob):
    team = team_of(alice)
    member_add(team=team, user=bob, role=Membership.Role.EDITOR)
    alices_key, _ = api_key_create(team=team, user=alice, name="owner-key")
    client.force_login(bob)

    page = client.get(reverse("api-keys")).content.decode()
    response = client.post(reverse("api-key-revoke", args=[alices_key.pk]))

    assert "owner-key" not in page
    assert response.status_code == 404
    alices_key.refresh_from_db()
    assert alices_key.is_active


def test_a_revoked_key_shows_as_revoked_without_a_revoke_button(alice_client, alice):
    kept, _ = api_key_create(team=team_of(alice), user=alice, name="kept")
    gone, _ = api_key_create(team=team_of(alice), user=alice, name="gone")

    alice_client.post(reverse("api-key-revoke", args=[gone.pk]))
    html = alice_client.get(reverse("api-keys")).content.decode()

    row = re.search(rf'<tr id="key-{gone.pk}".*?</tr>', html, re.S).group()
    kept_row = re.search(rf'<tr id="key-{kept.pk}".*?</tr>', html, re.S).group()
    assert ">revoked<" in row and reverse("api-key-revoke", args=[gone.pk]) not in row
    assert ">active<" in kept_row and reverse("api-key-revoke", args=[kept.pk]) in kept_row


def test_revoke_needs_post_and_both_pages_need_login(client, alice_client, alice):
    key, _ = api_key_create(team=team_of(alice), user=alice, name="k")
    url = reverse("api-key-revoke", args=[key.pk])

    assert alice_client.get(url).status_code == 405
    client.logout()
    assert client.get(reverse("api-keys")).status_code == 302
    assert client.post(url).status_code == 302
    key.refresh_from_db()
    assert key.is_active


def run_command(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_prints_only_the_key(alice, alice_project):
    out, err = run_command("alice", "--project", str(alice_project.pk), "--name", "ci")

    lines = out.splitlines()
    assert len(lines) == 1 and out.endswith("\n")
    key = ApiKey.objects.get(digest=api_key_digest(lines[0]))
    assert (key.name, key.created_by, key.team, key.project) == (
        "ci",
        alice,
        team_of(alice),
        alice_project,
    )
    assert lines[0] not in err and key.prefix in err


def test_command_creates_the_user_and_their_team(db):
    out, _ = run_command("dave", "--create-user")

    dave = User.objects.get(username="dave")
    team = team_of(dave)
    assert dave.has_usable_password()
    assert ApiKey.objects.get(digest=api_key_digest(out.strip())).team == team


def test_command_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="No user named 'nobody'.*--create-user"):
        run_command("nobody")

    assert not User.objects.filter(username="nobody").exists()
    assert not ApiKey.objects.exists()


def test_command_asks_which_team_when_ambiguous(db):
    erin = User.objects.create_user(username="erin", password="x")
    erin.memberships.get().team.delete()  # Every user gets a personal team; erin left hers.
    team_create(name="Red Unit", owner=erin)
    team_create(name="Blue Unit", owner=erin)

    with pytest.raises(CommandError, match="--team: blue-unit, red-unit"):
        run_command("erin")
    out, _ = run_command("erin", "--team", "red-unit")

    assert ApiKey.objects.get(digest=api_key_digest(out.strip())).team.slug == "red-unit"


def test_command_prefers_the_personal_team(alice, bob):
    member_add(team=team_of(bob), user=alice, role=Membership.Role.EDITOR)

    out, _ = run_command("alice")

    assert ApiKey.objects.get(digest=api_key_digest(out.strip())).team == team_of(alice)


def test_command_checks_role_and_project(alice, bob, alice_project):
    member_add(team=team_of(bob), user=alice, role=Membership.Role.VIEWER)

    with pytest.raises(CommandError, match="viewer"):
        run_command("alice", "--team", team_of(bob).slug)
    with pytest.raises(CommandError, match=f"No project {alice_project.pk}"):
        run_command("bob", "--project", str(alice_project.pk))
    assert not ApiKey.objects.exists()
