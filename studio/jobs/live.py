"""Live cards: render a generation's card or progress fragment and push it to the project.

State changes (queued, running, finished) push the whole card. Steps push the small
progress fragment (bar, step/total, ETA) and, only when a new one was drawn, the preview
image by URL; its bytes wait in Redis for `generation_preview` to serve (DESIGN "Live
progress protocol"). All three are partials of jobs/generation.html.
"""

import io
import logging

import django_rq
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.template.loader import render_to_string
from django.urls import reverse

from studio.jobs.models import Clip, Generation

logger = logging.getLogger(__name__)

PREVIEW_WIDTH = 320
PREVIEW_TTL_S = 3600  # Long after any job ends; the key is one small JPEG.


def _preview_key(pk) -> str:
    return f"studio:preview:{pk}"


def render_card(generation: Generation, *, oob: bool = False, preview: str | None = None) -> str:
    context = {"g": generation, "oob": oob, "preview": preview}
    return render_to_string("jobs/generation.html#card", context)


def render_progress(generation: Generation, *, preview: str | None = None) -> str:
    """The step push: the progress row, and the preview image when `preview` (a URL) is new."""
    context = {"g": generation, "part_oob": True, "preview": preview}
    html = render_to_string("jobs/generation.html#progress", context)
    if preview:
        html += render_to_string("jobs/generation.html#preview", context)
    return html


def preview_jpeg(frame) -> bytes:
    """Shrink a frame to the small JPEG the card shows while the job runs."""
    from PIL import Image

    image = Image.fromarray(frame)
    height = max(1, round(image.height * PREVIEW_WIDTH / image.width))
    image = image.resize((PREVIEW_WIDTH, height), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=70)
    return buf.getvalue()


def preview_store(generation: Generation, jpeg: bytes, version: int) -> str:
    """Keep the latest preview in Redis; return its URL, versioned so browsers refetch it."""
    django_rq.get_connection("default").set(
        _preview_key(generation.pk), b"%d:" % version + jpeg, ex=PREVIEW_TTL_S
    )
    return f"{reverse('generation-preview', args=[generation.pk])}?v={version}"


def preview_load(pk) -> tuple[int, bytes] | None:
    """The latest preview's version and JPEG bytes, or None (none drawn, expired, Redis away)."""
    try:
        raw = django_rq.get_connection("default").get(_preview_key(pk))
    except Exception:
        logger.warning("Could not read the preview of %s", pk, exc_info=True)
        return None
    if not raw:
        return None
    version, _, jpeg = raw.partition(b":")
    return int(version), jpeg


def preview_url(generation: Generation) -> str | None:
    """The current preview's URL for a running card rendered outside the worker (polls)."""
    found = preview_load(generation.pk) if generation.is_active else None
    if found is None:
        return None
    return f"{reverse('generation-preview', args=[generation.pk])}?v={found[0]}"


def _send(generation: Generation, html: str) -> None:
    async_to_sync(get_channel_layer().group_send)(
        generation.group_name, {"type": "generation.progress", "html": html}
    )


def broadcast_generation(generation: Generation, *, preview: str | None = None) -> None:
    """Send the card to every member watching the project; never fail the job over it.

    A run whose clip a moderator hid sends its removal instead: members are never staff
    on a project socket, and a hidden clip reaches no one but staff.
    """
    try:
        hidden = generation.status == Generation.Status.SUCCEEDED and (
            Clip.objects.filter(generation_id=generation.pk, hidden_at__isnull=False).first()
        )
        if hidden:
            _send(generation, render_to_string("jobs/_removed.html", {"clip": hidden}))
        else:
            _send(generation, render_card(generation, oob=True, preview=preview))
    except Exception:
        logger.warning("Could not push progress for %s", generation.pk, exc_info=True)


def broadcast_clip_removed(clip: Clip) -> None:
    """Take a clip off every open page of its project (its job card and gallery card)."""
    try:
        _send(clip.generation, render_to_string("jobs/_removed.html", {"clip": clip}))
    except Exception:
        logger.warning("Could not push the removal of clip %s", clip.pk, exc_info=True)


def broadcast_progress(generation: Generation, *, preview: str | None = None) -> None:
    """Send the step fragment (and a new preview's URL); never fail the job over it."""
    try:
        _send(generation, render_progress(generation, preview=preview))
    except Exception:
        logger.warning("Could not push progress for %s", generation.pk, exc_info=True)
