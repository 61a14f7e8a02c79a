"""Reads of generations that pages share."""

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from studio.jobs.models import Generation
from studio.projects.models import Project

FAILED_VISIBLE_FOR = timedelta(days=1)


def active_generations(project: Project, *, limit: int = 20) -> QuerySet[Generation]:
    """Running and queued jobs, and the last day's failures (until dismissed) so their
    reasons stay visible.

    Stated by status (finished runs with a clip are `succeeded`) as a union of two ranges
    of the (project, status, finished_at) index: ordered by time alone, the database would
    rather walk every generation of the project newest first, looking for active ones.
    """
    recent = timezone.now() - FAILED_VISIBLE_FOR
    ended = (Generation.Status.FAILED, Generation.Status.CANCELLED)
    mine = Generation.objects.filter(project=project, dismissed=False).order_by()
    running = mine.filter(status__in=Generation.ACTIVE).values("pk")
    failed = mine.filter(status__in=ended, finished_at__gte=recent).values("pk")
    return (
        Generation.objects.filter(pk__in=running.union(failed))
        .select_related("prompt", "requested_by")
        .order_by("-queued_at")[:limit]
    )
