"""Ids a client sends in a query string or a form field, read without trusting them."""

from collections.abc import Iterable

MAX_ID_DIGITS = 18
"""Up to 18 digits: below 2**63, so any id column (64-bit) can hold it."""


def parse_id(text: str | None) -> int | None:
    """The id `text` names, or None when it names none: ASCII digits only, at most 18."""
    if text and len(text) <= MAX_ID_DIGITS and text.isascii() and text.isdigit():
        return int(text)
    return None


def parse_ids(texts: Iterable[str]) -> list[int]:
    """The ids among `texts`, in order; the rest are dropped."""
    return [i for text in texts if (i := parse_id(text)) is not None]
