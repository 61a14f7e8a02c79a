"""Writes for API keys: make one (its secret shown once), revoke it, record its use."""

import hashlib
import secrets

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from studio.keys.models import ApiKey
from studio.projects.models import Project
from studio.teams.models import Team


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


def api_keys_revoke_for_moved_project(*, project: Project, from_team_id: int) -> int:
    """Revoke the old team's keys limited to a project that left it; return how many."""
    return ApiKey.objects.filter(
        project=project, team_id=from_team_id, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())


def api_key_mark_used(*, key: ApiKey, every_s: int = 60) -> None:
    """Record use at most once a minute, so busy keys do not write on every request."""
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() >= every_s:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
