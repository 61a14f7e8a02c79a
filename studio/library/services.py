"""Model downloads: start, record progress, finish, cancel, reconcile; delete an installed model.

The fetching itself is `generation.fetch`; the RQ job (`studio.library.jobs`) drives it
and reports here. Only ids cross the queue.
"""

import logging
import shutil
import uuid
from datetime import timedelta

import django_rq
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rq.registry import StartedJobRegistry

from generation import catalogue
from generation.modelstore import model_path, read_manifest
from generation.spec import GenerationError
from studio.jobs.jobs import INFRASTRUCTURE_ERRORS

from .models import ModelDownload

logger = logging.getLogger(__name__)

QUEUE = "models"
JOB_TIMEOUT = 48 * 3600  # A 60 GB checkpoint on a slow line.
REQUEUE_GRACE = timedelta(seconds=60)
"""A queued row younger than this may still be waiting for its commit to enqueue it."""
WORKER_LOST = (
    "The worker stopped during the download (killed or restarted). Fetch again to "
    "continue: the files it finished are kept."
)


def _entry(name: str) -> catalogue.CatalogueEntry:
    try:
        return catalogue.get(name)
    except GenerationError as exc:
        raise ValidationError(exc.message) from None


def _enqueue(download: ModelDownload) -> None:
    """Put the download on the `models` queue; with Redis away, the reconcile does it later."""
    from .jobs import run_download

    with _quiet_redis():
        django_rq.get_queue(QUEUE).enqueue(
            run_download, str(download.pk), job_id=download.rq_job_id, job_timeout=JOB_TIMEOUT
        )


def download_start(*, name: str, user=None) -> ModelDownload:
    """Queue a download of catalogue model `name`; refuse one installed or already running."""
    entry = _entry(name)
    if read_manifest(model_path(settings.STUDIO_MODELS_DIR, entry.name)):
        raise ValidationError(f"{entry.label} is already installed.")
    download_reconcile()
    try:
        with transaction.atomic():
            # A UUID, like generations' job ids: the studio worker looks every job id up
            # as a Generation's primary key after running it.
            download = ModelDownload.objects.create(
                name=entry.name, requested_by=user, rq_job_id=str(uuid.uuid4())
            )
            transaction.on_commit(lambda: _enqueue(download))
    except IntegrityError:
        raise ValidationError(f"{entry.label} is already being downloaded.") from None
    return download


def download_claim(*, download_id: int, worker: str) -> bool:
    """Take a queued download for this worker; False when it was cancelled or taken."""
    return bool(
        ModelDownload.objects.filter(pk=download_id, status=ModelDownload.Status.QUEUED).update(
            status=ModelDownload.Status.DOWNLOADING, worker=worker, started_at=timezone.now()
        )
    )


def download_progress(*, download_id: int, done: int, total: int, current: str) -> None:
    ModelDownload.objects.filter(pk=download_id).update(
        bytes_done=done, bytes_total=total, current_file=current[:300]
    )


def download_finish(
    *, download_id: int, status: ModelDownload.Status, error: str = ""
) -> ModelDownload:
    """Record how a running download ended (done, failed or cancelled)."""
    fields = {"status": status, "error": error, "finished_at": timezone.now()}
    if status == ModelDownload.Status.DONE:
        fields["current_file"] = ""
    ModelDownload.objects.filter(pk=download_id, status=ModelDownload.Status.DOWNLOADING).update(
        **fields
    )
    return ModelDownload.objects.get(pk=download_id)


def download_cancel(*, name: str) -> ModelDownload | None:
    """Cancel the active download of `name`: at once if queued, else at the worker's next check."""
    download = ModelDownload.objects.filter(name=name, status__in=ModelDownload.ACTIVE).first()
    if download is None:
        return None
    if ModelDownload.objects.filter(pk=download.pk, status=ModelDownload.Status.QUEUED).update(
        status=ModelDownload.Status.CANCELLED,
        cancel_requested=True,
        error="Cancelled before it started.",
        finished_at=timezone.now(),
    ):
        with _quiet_redis():
            django_rq.get_queue(QUEUE).remove(download.rq_job_id)
    else:
        ModelDownload.objects.filter(pk=download.pk).update(cancel_requested=True)
    download.refresh_from_db()
    return download


def model_delete(*, name: str) -> None:
    """Remove an installed (or partly downloaded) model's directory; never while it downloads."""
    entry = _entry(name)
    if ModelDownload.objects.filter(name=entry.name, status__in=ModelDownload.ACTIVE).exists():
        raise ValidationError(
            f"{entry.label} is being downloaded; cancel the download before deleting it."
        )
    path = model_path(settings.STUDIO_MODELS_DIR, entry.name)
    if not path.exists():
        raise ValidationError(f"{entry.label} is not on this machine.")
    shutil.rmtree(path)


class _quiet_redis:
    """Redis being away must not turn a page into a 500; the next reconcile catches up."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is not None and isinstance(exc, INFRASTRUCTURE_ERRORS):
            logger.warning("Redis is unavailable: %s", exc)
            return True
        return False


def download_reconcile() -> dict[str, int]:
    """Heal downloads Redis or a dead worker left behind: nothing stays active forever.

    Queued rows missing from the queue are enqueued again; downloading rows whose worker
    is gone fail with a reason (fetching again resumes from the finished files).
    """
    from studio.jobs.worker import live_worker_names

    counts = {"requeued": 0, "failed": 0}
    active = list(ModelDownload.objects.filter(status__in=ModelDownload.ACTIVE))
    if not active:
        return counts
    with _quiet_redis():
        queue = django_rq.get_queue(QUEUE)
        connection = queue.connection
        live = live_worker_names(connection)
        known = set(queue.get_job_ids()) | set(StartedJobRegistry(queue=queue).get_job_ids())
        now = timezone.now()
        for d in active:
            if d.status == ModelDownload.Status.DOWNLOADING and d.worker not in live:
                if ModelDownload.objects.filter(
                    pk=d.pk, status=ModelDownload.Status.DOWNLOADING, worker=d.worker
                ).update(status=ModelDownload.Status.FAILED, error=WORKER_LOST, finished_at=now):
                    counts["failed"] += 1
            elif (
                d.status == ModelDownload.Status.QUEUED
                and d.rq_job_id not in known
                and now - d.created_at > REQUEUE_GRACE
            ):
                _enqueue(d)
                counts["requeued"] += 1
    if any(counts.values()):
        logger.info("Reconciled model downloads: %s", counts)
    return counts
