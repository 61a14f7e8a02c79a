"""The RQ job that downloads a model: claim the row, fetch, record the outcome."""

import logging
import time

from django.conf import settings
from rq import get_current_job

from generation import catalogue
from generation.fetch import fetch
from generation.spec import Cancelled, GenerationError

from . import services
from .live import broadcast_progress, broadcast_row
from .models import ModelDownload

logger = logging.getLogger(__name__)

SAVE_INTERVAL = 1.0  # Seconds between progress writes to the database.
CANCEL_POLL = 1.0  # Seconds between looks at the cancel flag.


class DownloadProgress:
    """fetch's progress sink: records bytes, pushes throttled rows, polls the cancel flag."""

    def __init__(self, download: ModelDownload, entry, *, interval: float | None = None):
        self.download, self.entry = download, entry
        self.interval = settings.STUDIO_PROGRESS_INTERVAL if interval is None else interval
        self._last_sent = self._last_saved = self._last_polled = 0.0
        self._cancelled = False

    def progress(self, done: int, total: int, current: str) -> None:
        now = time.monotonic()
        if done < total and now - self._last_saved < SAVE_INTERVAL:
            return
        self._last_saved = now
        services.download_progress(
            download_id=self.download.pk, done=done, total=total, current=current
        )
        if done >= total or now - self._last_sent >= self.interval:
            self._last_sent = now
            broadcast_progress(self.entry)

    def should_cancel(self) -> bool:
        now = time.monotonic()
        if not self._cancelled and now - self._last_polled >= CANCEL_POLL:
            self._last_polled = now
            self._cancelled = ModelDownload.objects.filter(
                pk=self.download.pk, cancel_requested=True
            ).exists()
        return self._cancelled


def run_download(download_id: str) -> None:
    job = get_current_job()
    worker = (job.worker_name if job else None) or "inline"
    if not services.download_claim(download_id=int(download_id), worker=worker):
        return  # Cancelled while queued, or another worker has it.
    download = ModelDownload.objects.get(pk=download_id)
    try:
        entry = catalogue.get(download.name)
    except GenerationError as exc:  # Dropped from the catalogue since it was queued.
        services.download_finish(
            download_id=download.pk, status=ModelDownload.Status.FAILED, error=exc.message
        )
        return
    broadcast_row(entry)
    sink = DownloadProgress(download, entry)
    status, error = ModelDownload.Status.DONE, ""
    try:
        fetch(
            entry,
            settings.STUDIO_MODELS_DIR,
            progress=sink.progress,
            should_cancel=sink.should_cancel,
            endpoint=settings.STUDIO_HF_ENDPOINT or None,
        )
    except Cancelled:
        status, error = ModelDownload.Status.CANCELLED, "Cancelled; Fetch again continues it."
    except GenerationError as exc:
        status, error = ModelDownload.Status.FAILED, exc.message
    except Exception as exc:
        logger.exception("Downloading %s failed", entry.name)
        status = ModelDownload.Status.FAILED
        error = f"The download stopped on an unexpected error ({type(exc).__name__}: {exc})."
    services.download_finish(download_id=download.pk, status=status, error=error)
    broadcast_row(entry)
