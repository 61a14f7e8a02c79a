"""Limits on failed attempts (wrong passwords, invalid API keys), counted in Redis.

A counter per (kind, subject) lives for one window from its first failure; past its
limit, attempts are refused until the window ends, even with the right password, so
guessing gains nothing. The caller answers 429 with `Retry-After`. Redis being away
must not lock everyone out: then nothing is counted and nothing refused.

This module sits below the apps and imports none of them.
"""

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    kind: str
    failures: int
    window_s: int


def login_limits() -> tuple[Limit, Limit]:
    """(per account, per client address) limits on failed logins."""
    window = settings.STUDIO_LOGIN_FAILURE_WINDOW_S
    return (
        Limit("login-account", settings.STUDIO_LOGIN_FAILURES_PER_ACCOUNT, window),
        Limit("login-ip", settings.STUDIO_LOGIN_FAILURES_PER_IP, window),
    )


def api_key_limit() -> Limit:
    """Failed API keys per client address."""
    return Limit(
        "api-key-ip",
        settings.STUDIO_API_KEY_FAILURES_PER_IP,
        settings.STUDIO_API_KEY_FAILURE_WINDOW_S,
    )


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def _key(limit: Limit, subject: str) -> str:
    digest = hashlib.sha256(subject.strip().lower().encode()).hexdigest()[:32]
    return f"studio:throttle:{limit.kind}:{digest}"


_clients: dict = {}


def redis_client():
    """The process's Redis client for counters (throttles, the API's rate limit, idempotency).

    django_rq makes a new client, with a new connection pool, on every call: a socket
    opened (and greeted) per counter per request. One client per process keeps its pool.
    It is keyed by django_rq's factory, so a test that swaps the factory gets its own.
    """
    import django_rq

    factory = django_rq.get_connection
    client = _clients.get(factory)
    if client is None:
        client = _clients.setdefault(factory, factory("default"))
    return client


def retry_after(limit: Limit, subject: str) -> int | None:
    """Seconds until `subject` may try again, or None if it may now."""
    if limit.failures <= 0:
        return None
    try:
        conn = redis_client()
        key = _key(limit, subject)
        count = conn.get(key)
        if count is None or int(count) < limit.failures:
            return None
        ttl = conn.ttl(key)
    except Exception:
        logger.warning("Failure throttling is off: Redis did not answer", exc_info=True)
        return None
    return max(1, int(ttl)) if ttl and ttl > 0 else limit.window_s


def blocked(limits: list[tuple[Limit, str]]) -> int | None:
    """The longest wait among `(limit, subject)` pairs, or None if none is spent."""
    waits = [w for limit, subject in limits if (w := retry_after(limit, subject)) is not None]
    return max(waits) if waits else None


def record_failure(limit: Limit, subject: str) -> None:
    if limit.failures <= 0:
        return
    try:
        pipe = redis_client().pipeline()
        key = _key(limit, subject)
        pipe.incr(key)
        pipe.expire(key, limit.window_s, nx=True)  # The window runs from the first failure.
        pipe.execute()
    except Exception:
        logger.warning("Failure throttling is off: Redis did not answer", exc_info=True)


def clear(limit: Limit, subject: str) -> None:
    try:
        redis_client().delete(_key(limit, subject))
    except Exception:
        logger.warning("Could not clear a failure counter: Redis did not answer", exc_info=True)


def wait_words(seconds: int) -> str:
    minutes = (seconds + 59) // 60
    return f"{seconds} seconds" if seconds < 120 else f"{minutes} minutes"
