from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from studio.teams.models import ROLE_RANK, WRITER_ROLES, Membership, Team


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
