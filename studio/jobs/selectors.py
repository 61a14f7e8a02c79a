"""Reads of generations that pages share."""

import uuid
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


def job_groups(project: Project, user) -> list[list[Generation]]:
    """The project page's job cards: the active runs (`active_generations`), newest first,
    with each prompt-form submit's variants together, in the order they were made.

    A group shows as long as one of its runs is active, with its finished variants too (as
    their clips, unless hidden or dismissed), as it did live when it was submitted. One
    query for those, however many groups.
    """
    active = list(active_generations(project))
    groups = {g.variant_group for g in active if g.variant_group}
    members: dict[uuid.UUID, list[Generation]] = {group: [] for group in groups}
    if groups:
        shown = {g.pk for g in active}
        rest = (
            Generation.objects.shown_to(user)
            .filter(project=project, variant_group__in=groups, dismissed=False)
            .exclude(pk__in=shown)
            .select_related("prompt", "requested_by", "clip")
        )
        for g in [*active, *rest]:
            if g.variant_group:
                members[g.variant_group].append(g)
    cards: list[list[Generation]] = []
    for g in active:
        if not g.variant_group:
            cards.append([g])
        elif members.get(g.variant_group):
            cards.append(sorted(members.pop(g.variant_group), key=lambda v: (v.queued_at, v.pk)))
    return cards
