"""Live progress: render the generation card and push it to the project's channel group."""

import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.template.loader import render_to_string

from studio.jobs.models import Generation
from studio.jobs.services import generation_progress

logger = logging.getLogger(__name__)


def render_card(generation: Generation, *, oob: bool = False) -> str:
    return render_to_string("jobs/generation.html#card", {"g": generation, "oob": oob})


def broadcast_generation(generation: Generation) -> None:
    """Send the card to every member watching the project; never fail the job over it."""
    try:
        layer = get_channel_layer()
        async_to_sync(layer.group_send)(
            generation.group_name,
            {"type": "generation.progress", "html": render_card(generation, oob=True)},
        )
    except Exception:
        logger.warning("Could not push progress for %s", generation.pk, exc_info=True)


class JobProgress:
    """The engine's progress sink: records steps, pushes throttled updates, polls cancel."""

    def __init__(self, generation: Generation, *, interval: float | None = None):
        self.generation = generation
        self.interval = settings.STUDIO_PROGRESS_INTERVAL if interval is None else interval
        self._last_sent = 0.0

    def step(self, done: int, total: int, preview=None) -> None:
        now = time.monotonic()
        if done < total and now - self._last_sent < self.interval:
            return
        self._last_sent = now
        g = self.generation
        g.step, g.total_steps = done, total
        generation_progress(generation_id=str(g.pk), step=done, total=total)
        broadcast_generation(g)

    def cancelled(self) -> bool:
        return Generation.objects.filter(pk=self.generation.pk, cancel_requested=True).exists()
