"""Live progress: render the generation card and push it to the project's channel group."""

import base64
import io
import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.template.loader import render_to_string

from studio.jobs.models import Generation
from studio.jobs.services import generation_progress

logger = logging.getLogger(__name__)


PREVIEW_WIDTH = 320
PREVIEW_INTERVAL = 1.0
SAVE_INTERVAL = 1.0  # Seconds between progress writes to the database.


def render_card(generation: Generation, *, oob: bool = False, preview: str | None = None) -> str:
    context = {"g": generation, "oob": oob, "preview": preview}
    return render_to_string("jobs/generation.html#card", context)


def preview_data_uri(frame) -> str:
    """Shrink a frame to a small JPEG data URI the card can show while the job runs."""
    from PIL import Image

    image = Image.fromarray(frame)
    height = max(1, round(image.height * PREVIEW_WIDTH / image.width))
    image = image.resize((PREVIEW_WIDTH, height), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _send(generation: Generation, html: str) -> None:
    async_to_sync(get_channel_layer().group_send)(
        generation.group_name, {"type": "generation.progress", "html": html}
    )


def broadcast_generation(generation: Generation, *, preview: str | None = None) -> None:
    """Send the card to every member watching the project; never fail the job over it."""
    try:
        _send(generation, render_card(generation, oob=True, preview=preview))
    except Exception:
        logger.warning("Could not push progress for %s", generation.pk, exc_info=True)


class JobProgress:
    """The engine's progress sink: records steps, pushes throttled updates, polls cancel."""

    def __init__(self, generation: Generation, *, interval: float | None = None):
        self.generation = generation
        self.interval = settings.STUDIO_PROGRESS_INTERVAL if interval is None else interval
        self._last_sent = 0.0
        self._last_saved = 0.0
        self._last_preview_at = 0.0
        self._preview: str | None = None

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
        if preview is not None and now - self._last_preview_at >= PREVIEW_INTERVAL:
            self._last_preview_at = now
            try:
                self._preview = preview_data_uri(preview)
            except Exception:  # A preview is a nicety; the job goes on without it.
                logger.warning("Could not render a preview for %s", g.pk, exc_info=True)
        broadcast_generation(g, preview=self._preview)

    def cancelled(self) -> bool:
        return Generation.objects.filter(pk=self.generation.pk, cancel_requested=True).exists()
