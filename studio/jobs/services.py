"""Writes for the generation lifecycle: submit, claim, progress, outcome, cancel, reconcile."""

import logging
from collections.abc import Iterable

import django_rq
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from generation.spec import GenerationError, GenerationRequest
from studio.jobs.engines import engine_info
from studio.jobs.models import Generation
from studio.projects.models import Project
from studio.projects.services import project_touch
from studio.prompts.models import Prompt

logger = logging.getLogger(__name__)

QUEUE = "default"
JOB_FUNCTION = "studio.jobs.jobs.run_generation"


def _enqueue(generation_id: str) -> None:
    django_rq.get_queue(QUEUE).enqueue(JOB_FUNCTION, generation_id, job_id=generation_id)


def _enqueue_committed(generation_id: str) -> None:
    """Enqueue a committed row; if Redis is away, reconcile enqueues it once Redis is back.

    Raising here would turn a recorded job into an error page (and a retried API call
    into a duplicate job).
    """
    try:
        _enqueue(generation_id)
    except Exception:
        logger.warning(
            "Could not enqueue %s; the worker's reconcile will", generation_id, exc_info=True
        )
    # Pages that have not shown this job yet (another member's, the API's) add its card.
    from studio.jobs.progress import broadcast_generation  # progress imports services.

    generation = Generation.objects.select_related("prompt").filter(pk=generation_id).first()
    if generation is not None:
        broadcast_generation(generation)


@transaction.atomic
def generation_submit(
    *,
    project: Project,
    user: User | None,
    engine_id: str,
    request: GenerationRequest,
    prompt: Prompt | None = None,
    notes: Iterable[str] = (),
    source_clip=None,
) -> Generation:
    """Validate against the engine, record the run, and enqueue it once the row is committed."""
    info = engine_info(engine_id)
    if info is None:
        raise GenerationError(f"Engine {engine_id!r} is not available here.", field="engine")
    # Limits apply to what the user wrote, not to the preset phrases composed around it.
    checked = request.replace(prompt=prompt.text.strip()) if prompt is not None else request
    info.capabilities.validate(checked, engine_label=info.label)
    generation = Generation.objects.create(
        project=project,
        prompt=prompt,
        requested_by=user,
        engine=engine_id,
        mode=request.mode,
        recipe=request.to_dict(),
        notes=list(notes),
        source_clip=source_clip,
    )
    project_touch(project_id=project.pk)
    pk = str(generation.pk)
    transaction.on_commit(lambda: _enqueue_committed(pk))
    return generation


def generation_claim(*, generation_id: str, worker: str) -> bool:
    """Move a queued row to running; a second claim (or a cancelled row) does nothing."""
    claimed = Generation.objects.filter(
        pk=generation_id, status=Generation.Status.QUEUED, cancel_requested=False
    ).update(
        status=Generation.Status.RUNNING,
        started_at=timezone.now(),
        worker=worker,
        attempts=F("attempts") + 1,
        step=0,
    )
    return claimed == 1


def generation_progress(*, generation_id: str, step: int, total: int) -> None:
    Generation.objects.filter(pk=generation_id, status=Generation.Status.RUNNING).update(
        step=step, total_steps=total
    )


def _finish(generation_id: str, status: str, **fields) -> bool:
    return (
        Generation.objects.filter(pk=generation_id, status=Generation.Status.RUNNING).update(
            status=status, finished_at=timezone.now(), **fields
        )
        == 1
    )


def generation_fail(*, generation_id: str, error: str, code: str = "generation_error") -> bool:
    return _finish(generation_id, Generation.Status.FAILED, error=error, error_code=code)


def generation_mark_cancelled(*, generation_id: str) -> bool:
    return _finish(generation_id, Generation.Status.CANCELLED, error="Cancelled.")


def generation_cancel(*, generation: Generation) -> Generation:
    """Cancel at once when queued; when running, ask the worker, which stops within one step."""
    updated = Generation.objects.filter(pk=generation.pk, status=Generation.Status.QUEUED).update(
        status=Generation.Status.CANCELLED,
        cancel_requested=True,
        finished_at=timezone.now(),
        error="Cancelled before it started.",
    )
    if updated:
        try:
            job = django_rq.get_queue(QUEUE).fetch_job(str(generation.pk))
            if job is not None:
                job.cancel()
        except Exception:  # Redis being away must not stop a cancel the database recorded.
            logger.warning("Could not remove job %s from the queue", generation.pk, exc_info=True)
    else:
        Generation.objects.filter(pk=generation.pk, status=Generation.Status.RUNNING).update(
            cancel_requested=True
        )
    generation.refresh_from_db()
    if generation.status == Generation.Status.CANCELLED:
        from studio.jobs.progress import broadcast_generation  # progress imports services.

        broadcast_generation(generation)  # A running job's worker sends its own final card.
    return generation


def generation_reconcile(*, live_workers: set[str], queued_job_ids: set[str]) -> dict[str, int]:
    """Re-enqueue queued rows Redis forgot; retry or fail running rows whose worker is gone."""
    from django.conf import settings

    counts = {"requeued": 0, "retried": 0, "failed": 0}
    for pk in Generation.objects.filter(status=Generation.Status.QUEUED).values_list(
        "pk", flat=True
    ):
        if str(pk) not in queued_job_ids:
            _enqueue(str(pk))
            counts["requeued"] += 1
    orphans = Generation.objects.filter(status=Generation.Status.RUNNING).exclude(
        worker__in=live_workers
    )
    for g in orphans:
        if g.attempts < settings.STUDIO_MAX_ATTEMPTS and not g.cancel_requested:
            if Generation.objects.filter(
                pk=g.pk, status=Generation.Status.RUNNING, worker=g.worker
            ).update(status=Generation.Status.QUEUED, step=0, worker=""):
                _enqueue(str(g.pk))
                counts["retried"] += 1
        elif Generation.objects.filter(
            pk=g.pk, status=Generation.Status.RUNNING, worker=g.worker
        ).update(
            status=Generation.Status.FAILED,
            finished_at=timezone.now(),
            error_code="worker_lost",
            error=(
                f"The worker running this job stopped (after {g.attempts} attempt(s)). "
                "Try again; if it keeps happening, try a smaller size or fewer frames."
            ),
        ):
            counts["failed"] += 1
    return counts
