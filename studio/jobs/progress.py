"""The engine's progress sink: record steps, push throttled progress fragments, poll for cancel."""

import logging
import time

from django.conf import settings

from studio.jobs.live import broadcast_progress, preview_jpeg, preview_store
from studio.jobs.models import Generation
from studio.jobs.services import generation_progress

logger = logging.getLogger(__name__)

PREVIEW_INTERVAL = 1.0
SAVE_INTERVAL = 1.0  # Seconds between progress writes to the database.


class JobProgress:
    """The engine's progress sink: records steps, pushes throttled updates, polls cancel."""

    def __init__(self, generation: Generation, *, interval: float | None = None):
        self.generation = generation
        self.interval = settings.STUDIO_PROGRESS_INTERVAL if interval is None else interval
        self._last_sent = 0.0
        self._last_saved = 0.0
        self._last_preview_at = 0.0

    def step(self, done: int, total: int, preview=None) -> None:
        now = time.monotonic()
        if done < total and now - self._last_sent < self.interval:
            return
        self._last_sent = now
        g = self.generation
        g.step, g.total_steps = done, total
        # Pages get every push; the row (read by reloads, polls and the API) once a second.
        if done >= total or now - self._last_saved >= SAVE_INTERVAL:
            self._last_saved = now
            generation_progress(generation_id=str(g.pk), step=done, total=total)
        url = None  # A preview goes out once, when it is new; pushes between carry none.
        if preview is not None and now - self._last_preview_at >= PREVIEW_INTERVAL:
            self._last_preview_at = now
            try:
                url = preview_store(g, preview_jpeg(preview), time.time_ns() // 1_000_000)
            except Exception:  # A preview is a nicety; the job goes on without it.
                logger.warning("Could not store a preview for %s", g.pk, exc_info=True)
        broadcast_progress(g, preview=url)

    def cancelled(self) -> bool:
        return Generation.objects.filter(pk=self.generation.pk, cancel_requested=True).exists()
