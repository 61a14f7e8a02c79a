"""Human labels for the ids a recipe records (camera, style, mode, engine)."""

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from generation.prompting import CAMERA_MOTIONS, STYLE_PRESETS
from generation.spec import MODE_LABELS
from studio.jobs.engines import engine_info

register = template.Library()


@register.filter
def camera_label(value: str) -> str:
    motion = CAMERA_MOTIONS.get(value or "static")
    return motion.label if motion else value


@register.filter
def style_label(value: str) -> str:
    if not value:
        return "None"
    style = STYLE_PRESETS.get(value)
    return style.label if style else value


@register.filter
def mode_label(value: str) -> str:
    return MODE_LABELS.get(value, value)


@register.filter
def engine_label(value: str) -> str:
    info = engine_info(value) if value else None
    return info.label if info else value


@register.filter
def ago(value) -> str:
    """ "just now" under a minute, else Django's "5 minutes ago" (never "0 minutes ago")."""
    if not value:
        return ""
    if (timezone.now() - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value).split(',')[0]} ago"
