"""Match prompt text against policy rules: plain functions, no database."""

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: int
    kind: str  # "term" or "regex"
    pattern: str
    category: str


def normalise(text: str) -> str:
    """Fold case and compatibility forms, so "ＳＨＯＯＴ" and "Shoot" read as "shoot"."""
    return unicodedata.normalize("NFKC", text).casefold()


def compile_rule(kind: str, pattern: str) -> re.Pattern[str]:
    """The regular expression a rule searches for; raise re.error for a bad one.

    A term matches as a whole word (or phrase, with any run of spaces between its words).
    """
    if kind == "term":
        words = normalise(pattern).split()
        if not words:
            raise re.error("a term needs at least one word")
        return re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)")
    return re.compile(pattern, re.IGNORECASE)


def first_match(text: str, rules: list[Rule]) -> Rule | None:
    """The first rule `text` breaks, or None."""
    folded = normalise(text)
    for rule in rules:
        try:
            found = compile_rule(rule.kind, rule.pattern).search(folded)
        except re.error:
            continue  # Rules are checked when saved; one broken row must not block everyone.
        if found:
            return rule
    return None
