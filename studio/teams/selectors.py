from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F
from django.utils import timezone

from studio.teams.models import ROLE_RANK, WRITER_ROLES, Invitation, Membership, Team


def teams_writable_by(user: AbstractBaseUser | AnonymousUser):
    """Teams where the user may create things (projects, generations, API keys)."""
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user, memberships__role__in=WRITER_ROLES)


def user_role(user: AbstractBaseUser | AnonymousUser, team_id: int) -> str | None:
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(user=user, team_id=team_id).values_list("role", flat=True).first()
    )


def role_allows(role: str | None, needed: str) -> bool:
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[needed]


def invitations_pending_for(user: AbstractBaseUser):
    """Invitations addressed to this user that they can still accept."""
    return Invitation.objects.filter(
        invitee=user,
        revoked_at__isnull=True,
        declined_at__isnull=True,
        use_count__lt=F("max_uses"),
        expires_at__gt=timezone.now(),
    ).select_related("team", "created_by")


def user_group_name(user_id: int) -> str:
    """The channel group of one user's open sockets, told when their access changes."""
    return f"user-{user_id}"
