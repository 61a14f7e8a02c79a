"""Live rows on the staff Models page: render a model's row and push it to every open page."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.template.loader import render_to_string

from generation.catalogue import CatalogueEntry

from .models import GROUP
from .selectors import model_row

logger = logging.getLogger(__name__)


def render_row(entry: CatalogueEntry, *, oob: bool = False, request=None) -> str:
    context = {"row": model_row(entry), "oob": oob}
    return render_to_string("library/index.html#row", context, request=request)


def render_progress(entry: CatalogueEntry) -> str:
    """The byte push: the progress bar, bytes and current file, without the rest of the row."""
    context = {"row": model_row(entry, measure=False), "part_oob": True}
    return render_to_string("library/index.html#progress", context)


def _send(entry: CatalogueEntry, html) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(
            GROUP, {"type": "library.progress", "html": html(entry)}
        )
    except Exception:
        logger.warning("Could not push the progress of %s", entry.name, exc_info=True)


def broadcast_row(entry: CatalogueEntry) -> None:
    """Send the model's row (a state change) to the staff on the Models page; never fail
    the job over it."""
    _send(entry, lambda e: render_row(e, oob=True))


def broadcast_progress(entry: CatalogueEntry) -> None:
    """Send the small progress fragment (bytes done); never fail the job over it."""
    _send(entry, render_progress)
