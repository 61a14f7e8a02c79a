from django.contrib.auth.models import User
from django.db import transaction
from django.utils.text import slugify

from studio.teams.models import Membership, Team


def _unique_slug(base: str) -> str:
    base = slugify(base)[:100] or "team"
    slug, n = base, 1
    while Team.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def team_create(*, name: str, owner: User, personal: bool = False) -> Team:
    team = Team.objects.create(name=name, slug=_unique_slug(name), personal=personal)
    Membership.objects.create(user=owner, team=team, role=Membership.Role.OWNER)
    return team


@transaction.atomic
def user_signup(*, username: str, password: str, email: str = "") -> User:
    """Create the user with their personal team, so they can start a project at once."""
    user = User.objects.create_user(username=username, password=password, email=email)
    team_create(name=f"{username}'s team", owner=user, personal=True)
    return user


def member_add(*, team: Team, user: User, role: str = Membership.Role.EDITOR) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    return membership
