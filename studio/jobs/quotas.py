"""Per-team quotas: a monthly budget of engine-seconds and a cap on jobs queued or running.

Checked by `generation_submit` before anything is recorded or queued; the worker measures
each run's engine time (`Generation.engine_seconds`).
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone

from generation.spec import GenerationError
from studio.jobs.models import Generation
from studio.teams.models import Team


class QuotaExceeded(GenerationError):
    """The team is over a quota; the API answers 429 with this message."""

    code = "quota_exceeded"


@dataclass(frozen=True)
class Limits:
    monthly_engine_seconds: int
    """0: no limit."""
    max_concurrent_jobs: int
    """0: no limit."""


def team_limits(team: Team) -> Limits:
    budget = team.monthly_engine_seconds
    cap = team.max_concurrent_jobs
    return Limits(
        monthly_engine_seconds=(
            settings.STUDIO_TEAM_MONTHLY_ENGINE_SECONDS if budget is None else budget
        ),
        max_concurrent_jobs=settings.STUDIO_TEAM_MAX_CONCURRENT_JOBS if cap is None else cap,
    )


def month_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The start of this calendar month and of the next (in the studio's time zone)."""
    now = timezone.localtime(now or timezone.now())
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start, start.replace(year=year, month=month)


def _month_runs(team: Team, now: datetime | None = None):
    start, end = month_bounds(now)
    return Generation.objects.filter(project__team=team, started_at__gte=start, started_at__lt=end)


def engine_seconds_used(team: Team, now: datetime | None = None) -> float:
    """Engine-seconds the team's runs used this month (counted in the month they started)."""
    total = _month_runs(team, now).aggregate(s=Sum("engine_seconds"))["s"]
    return float(total or 0.0)


def active_jobs(team: Team) -> int:
    return Generation.objects.filter(project__team=team, status__in=Generation.ACTIVE).count()


def quota_check(*, team: Team) -> None:
    """Raise QuotaExceeded, with the figures, when the team may not start another job."""
    limits = team_limits(team)
    if limits.max_concurrent_jobs:
        active = active_jobs(team)
        if active >= limits.max_concurrent_jobs:
            raise QuotaExceeded(
                f"{team.name} already has {active} jobs queued or running, and its limit is "
                f"{limits.max_concurrent_jobs} at once. Wait for one to finish, or cancel one.",
                code="concurrency_limit",
            )
    if limits.monthly_engine_seconds:
        used = engine_seconds_used(team)
        if used >= limits.monthly_engine_seconds:
            _, renews = month_bounds()
            raise QuotaExceeded(
                f"{team.name} has used {used:,.0f} of its {limits.monthly_engine_seconds:,} "
                f"engine-seconds this month; the budget renews on {renews:%B} 1.",
                code="budget_exceeded",
            )


@dataclass(frozen=True)
class Usage:
    start: datetime
    renews: datetime
    limits: Limits
    total_seconds: float
    runs: int
    active: int
    by_member: list[dict]
    """Rows of `name`, `seconds`, `runs`, biggest first."""
    by_engine: list[dict]
    """Rows of `engine`, `seconds`, `runs`, biggest first."""

    @property
    def percent(self) -> int | None:
        budget = self.limits.monthly_engine_seconds
        return min(100, int(100 * self.total_seconds / budget)) if budget else None

    @property
    def remaining_seconds(self) -> float | None:
        budget = self.limits.monthly_engine_seconds
        return max(0.0, budget - self.total_seconds) if budget else None


def team_usage(team: Team, now: datetime | None = None) -> Usage:
    """This month's engine time for the team: in total, by member and by engine."""
    start, renews = month_bounds(now)
    runs = _month_runs(team, now)

    def rows(key: str) -> list[dict]:
        grouped = runs.values(key).annotate(seconds=Sum("engine_seconds"), runs=Count("pk"))
        return sorted(
            ({"name": r[key], "seconds": r["seconds"] or 0.0, "runs": r["runs"]} for r in grouped),
            key=lambda r: (-r["seconds"], str(r["name"])),
        )

    by_member = rows("requested_by__username")
    for row in by_member:
        row["name"] = row["name"] or "(deleted user)"
    return Usage(
        start=start,
        renews=renews,
        limits=team_limits(team),
        total_seconds=sum(r["seconds"] for r in by_member),
        runs=sum(r["runs"] for r in by_member),
        active=active_jobs(team),
        by_member=by_member,
        by_engine=rows("engine"),
    )
