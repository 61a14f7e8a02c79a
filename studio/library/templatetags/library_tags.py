from django import template

from generation.fetch import human_bytes

register = template.Library()


@register.filter
def size(value) -> str:
    """Bytes in decimal units, as the hub and disk makers count them (17.4 GB)."""
    try:
        return human_bytes(int(value))
    except (TypeError, ValueError):
        return ""


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
