"""Writes for teams: sign-up, teams, members and roles, invitations.

Every function that changes who may see what checks the acting user's role itself, so a view,
a command or a test gets the same rules, and raises `TeamError` with a message to show.
Losing access is announced to the user's open sockets once the change commits
(`studio.teams.signals`).
"""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from studio.teams.models import Invitation, Membership, Team

Role = Membership.Role


class TeamError(Exception):
    """A team change that is not allowed, with a message for the person who tried it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _unique_slug(base: str) -> str:
    base = slugify(base)[:100] or "team"
    slug, n = base, 1
    while Team.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise TeamError("Name the team.")
    if "\x00" in name:
        raise TeamError("A team name cannot contain a NUL character.")
    if len(name) > Team._meta.get_field("name").max_length:
        raise TeamError("A team name has at most 100 characters.")
    return name


def _require_owner(team: Team, user: User) -> Membership:
    membership = Membership.objects.filter(team=team, user=user).first()
    if membership is None or membership.role != Role.OWNER:
        raise TeamError(f"Only an owner of {team.name} can do this.")
    return membership


def _owner_count(team: Team) -> int:
    """Owners of the team, counted with the team row locked: two owners stepping down at
    once cannot leave it with none."""
    Team.objects.select_for_update().filter(pk=team.pk).first()
    return Membership.objects.filter(team=team, role=Role.OWNER).count()


@transaction.atomic
def team_create(*, name: str, owner: User, personal: bool = False) -> Team:
    name = _clean_name(name)
    team = Team.objects.create(name=name, slug=_unique_slug(name), personal=personal)
    Membership.objects.create(user=owner, team=team, role=Role.OWNER)
    return team


def personal_team_ensure(*, user: User) -> Team | None:
    """Give a user with no team a personal one, so every account (a `createsuperuser` admin
    included) can start a project at once."""
    if Membership.objects.filter(user=user).exists():
        return None
    return team_create(name=f"{user.username}'s team", owner=user, personal=True)


@transaction.atomic
def user_signup(*, username: str, password: str, email: str = "") -> User:
    """Create the user; the post_save handler gives them their personal team."""
    return User.objects.create_user(username=username, password=password, email=email)


def member_add(*, team: Team, user: User, role: str = Role.EDITOR) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    return membership


@transaction.atomic
def team_rename(*, team: Team, by: User, name: str) -> Team:
    _require_owner(team, by)
    team.name = _clean_name(name)
    team.save(update_fields=["name"])
    return team


def team_set_ai_mark(*, team: Team, by: User, enabled: bool) -> Team:
    """Turn the visible "AI-generated" label on this team's new clips on or off (owners)."""
    _require_owner(team, by)
    team.ai_mark = enabled
    team.save(update_fields=["ai_mark"])
    return team


@transaction.atomic
def team_delete(*, team: Team, by: User) -> None:
    """Delete a team that holds no projects (its memberships and invitations go with it)."""
    _require_owner(team, by)
    if team.personal:
        raise TeamError("Your personal team cannot be deleted.")
    count = team.projects.count()
    if count:
        raise TeamError(
            f"{team.name} still has {count} project{'s' if count != 1 else ''}: "
            "move or delete them first."
        )
    team.delete()


@transaction.atomic
def member_set_role(*, membership: Membership, by: User, role: str) -> Membership:
    team = membership.team
    _require_owner(team, by)
    if role not in Role.values:
        raise TeamError(f"“{role}” is not a role: choose owner, editor or viewer.")
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(team) == 1:
        raise TeamError("A team must keep an owner: make someone else owner first.")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, by: User) -> None:
    team = membership.team
    if membership.user_id != by.pk:
        _require_owner(team, by)
    if membership.role == Role.OWNER and _owner_count(team) == 1:
        raise TeamError("A team must keep an owner: make someone else owner first.")
    membership.delete()


@transaction.atomic
def member_leave(*, team: Team, user: User) -> None:
    membership = Membership.objects.filter(team=team, user=user).select_related("team").first()
    if membership is None:
        raise TeamError(f"You are not a member of {team.name}.")
    if team.personal and membership.role == Role.OWNER and _owner_count(team) == 1:
        raise TeamError("You cannot leave your personal team.")
    member_remove(membership=membership, by=user)


@transaction.atomic
def team_transfer_ownership(*, team: Team, by: User, to: Membership) -> Membership:
    """Make `to` an owner and step the acting owner down to editor."""
    mine = _require_owner(team, by)
    if to.team_id != team.pk:
        raise TeamError(f"{to.user.username} is not a member of {team.name}.")
    if to.pk == mine.pk:
        raise TeamError("You already own this team: choose another member.")
    if to.role == Role.OWNER:
        raise TeamError(f"{to.user.username} is already an owner: change your own role instead.")
    to.role = Role.OWNER
    to.save(update_fields=["role"])
    mine.role = Role.EDITOR
    mine.save(update_fields=["role"])
    return to


# Invitations


INVITE_LIFETIMES = {
    "1h": ("1 hour", timedelta(hours=1)),
    "1d": ("1 day", timedelta(days=1)),
    "7d": ("7 days", timedelta(days=7)),
    "30d": ("30 days", timedelta(days=30)),
}
MAX_LINK_USES = 100


def invitation_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_role(role: str) -> str:
    if role not in (Role.EDITOR, Role.VIEWER):
        raise TeamError("Invite as an editor or a viewer; make someone owner once they joined.")
    return role


@transaction.atomic
def invitation_link_create(
    *, team: Team, by: User, role: str, max_uses: int = 1, expires_in: timedelta
) -> tuple[Invitation, str]:
    """Make an invitation link; return it with its token, which is shown once, never stored."""
    _require_owner(team, by)
    _check_role(role)
    if not 1 <= max_uses <= MAX_LINK_USES:
        raise TeamError(f"A link can be used from 1 to {MAX_LINK_USES} times.")
    token = secrets.token_urlsafe(24)
    invitation = Invitation.objects.create(
        team=team,
        role=role,
        token_digest=invitation_digest(token),
        max_uses=max_uses,
        expires_at=timezone.now() + expires_in,
        created_by=by,
    )
    return invitation, token


def _find_user(who: str) -> User:
    who = (who or "").strip()
    if not who:
        raise TeamError("Enter a username or an email address.")
    if "@" in who:
        users = list(User.objects.filter(email__iexact=who, is_active=True)[:2])
        if len(users) > 1:
            raise TeamError(f"Several accounts use {who}: invite by username instead.")
    else:
        users = list(User.objects.filter(username__iexact=who, is_active=True)[:1])
    if not users:
        raise TeamError(f"No one called {who} has an account: send them an invitation link.")
    return users[0]


@transaction.atomic
def invitation_user_create(
    *, team: Team, by: User, who: str, role: str, expires_in: timedelta = timedelta(days=30)
) -> Invitation:
    """Invite an existing user by username or email; they accept it from their teams page."""
    _require_owner(team, by)
    _check_role(role)
    user = _find_user(who)
    if Membership.objects.filter(team=team, user=user).exists():
        raise TeamError(f"{user.username} is already a member of {team.name}.")
    pending = Invitation.objects.filter(
        team=team,
        invitee=user,
        revoked_at__isnull=True,
        declined_at__isnull=True,
        use_count__lt=F("max_uses"),
        expires_at__gt=timezone.now(),
    )
    if pending.exists():
        raise TeamError(f"{user.username} already has a pending invitation to {team.name}.")
    return Invitation.objects.create(
        team=team,
        role=role,
        invitee=user,
        max_uses=1,
        expires_at=timezone.now() + expires_in,
        created_by=by,
    )


def invitation_revoke(*, invitation: Invitation, by: User) -> Invitation:
    _require_owner(invitation.team, by)
    Invitation.objects.filter(pk=invitation.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    invitation.refresh_from_db()
    return invitation


def invitation_for_token(token: str) -> Invitation | None:
    if not token:
        return None
    return (
        Invitation.objects.select_related("team", "created_by")
        .filter(token_digest=invitation_digest(token))
        .first()
    )


def _why_not_usable(invitation: Invitation) -> str:
    return {
        "revoked": "This invitation was revoked.",
        "declined": "This invitation was declined.",
        "used": "This invitation link has been used up: ask for a new one.",
        "accepted": "This invitation was already accepted.",
        "expired": "This invitation has expired: ask for a new one.",
    }.get(invitation.status, "This invitation cannot be used.")


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Join the team with the invitation's role, consuming one use; a member stays as they are."""
    team = invitation.team
    if not invitation.is_link and invitation.invitee_id != user.pk:
        raise TeamError("This invitation is for someone else.")
    existing = Membership.objects.filter(team=team, user=user).first()
    if existing is not None:
        raise TeamError(f"You are already a member of {team.name}.")
    claimed = (
        Invitation.objects.filter(
            pk=invitation.pk,
            revoked_at__isnull=True,
            declined_at__isnull=True,
            use_count__lt=F("max_uses"),
            expires_at__gt=timezone.now(),
        ).update(use_count=F("use_count") + 1)
        == 1
    )
    if not claimed:
        invitation.refresh_from_db()
        raise TeamError(_why_not_usable(invitation))
    return Membership.objects.create(team=team, user=user, role=invitation.role)


def invitation_decline(*, invitation: Invitation, user: User) -> Invitation:
    if invitation.invitee_id != user.pk:
        raise TeamError("This invitation is for someone else.")
    Invitation.objects.filter(pk=invitation.pk, declined_at__isnull=True).update(
        declined_at=timezone.now()
    )
    invitation.refresh_from_db()
    return invitation
