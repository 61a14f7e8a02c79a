"""Fair share across teams over one RQ queue.

RQ serves its queue first in, first out, so a team that queues 50 jobs would make every
other team wait for all 50. Instead each team has a few slots (`STUDIO_FAIR_SHARE_SLOTS`):
a job enters the RQ queue only while its team has a free slot (jobs in the queue or
running hold one, marked by `Generation.dispatched_at`); the rest stay `queued` in the
database and are released, oldest first, as the team's jobs finish. The queue therefore
never holds more than a team's slots of one team ahead of another team's job, and the
worker, its conditional claim and reconcile stay as they are.
"""

from django.conf import settings
from django.utils import timezone

from studio.jobs.models import Generation


def slots() -> int:
    return max(1, settings.STUDIO_FAIR_SHARE_SLOTS)


def _dispatched(team_id: int) -> int:
    return Generation.objects.filter(
        project__team_id=team_id, status__in=Generation.ACTIVE, dispatched_at__isnull=False
    ).count()


def admit(team_id: int) -> bool:
    """Whether a new job of this team may go to the queue at once."""
    return _dispatched(team_id) < slots()


def release(team_id: int) -> list[str]:
    """Mark the team's oldest waiting jobs dispatched, as many as it has free slots.

    Return their ids for the caller to enqueue. A conditional update per row means two
    processes releasing at once never enqueue the same job twice.
    """
    free = slots() - _dispatched(team_id)
    if free <= 0:
        return []
    waiting = Generation.objects.filter(
        project__team_id=team_id,
        status=Generation.Status.QUEUED,
        dispatched_at__isnull=True,
        cancel_requested=False,
    ).order_by("queued_at")
    released = []
    for pk in waiting.values_list("pk", flat=True)[:free]:
        if Generation.objects.filter(
            pk=pk, status=Generation.Status.QUEUED, dispatched_at__isnull=True
        ).update(dispatched_at=timezone.now()):
            released.append(str(pk))
    return released


def teams_waiting() -> list[int]:
    """Teams with jobs waiting in the database for a slot."""
    return list(
        Generation.objects.filter(status=Generation.Status.QUEUED, dispatched_at__isnull=True)
        .values_list("project__team_id", flat=True)
        .distinct()
        .order_by()
    )
