from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from studio.teams.models import ApiKey, Membership, Team

if TYPE_CHECKING:
    from studio.projects.models import Project


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


def api_key_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *, team: Team, user: User, name: str, project: Project | None = None
) -> tuple[ApiKey, str]:
    """Make a key and return it with its secret, which is shown once and never stored."""
    if project is not None and project.team_id != team.pk:
        raise ValueError(f"Project {project.pk} is not in team {team.slug}.")
    raw = ApiKey.PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        team=team,
        project=project,
        created_by=user,
        name=name.strip() or "API key",
        prefix=raw[: len(ApiKey.PREFIX) + 6],
        digest=api_key_digest(raw),
    )
    return key, raw


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db()
    return key


def api_key_mark_used(*, key: ApiKey, every_s: int = 60) -> None:
    """Record use at most once a minute, so busy keys do not write on every request."""
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() >= every_s:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
