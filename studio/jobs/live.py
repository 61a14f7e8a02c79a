"""Live cards: render a generation's card and push it to the project's channel group."""

import base64
import io
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.template.loader import render_to_string

from studio.jobs.models import Generation

logger = logging.getLogger(__name__)

PREVIEW_WIDTH = 320


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
