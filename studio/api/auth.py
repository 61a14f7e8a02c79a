"""Who is calling: the bearer key, its team and role, and the per-key rate limit."""

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from ninja.security.base import AuthBase

from studio import throttle
from studio.keys.models import ApiKey
from studio.keys.services import api_key_digest, api_key_mark_used
from studio.projects.models import Project
from studio.teams.selectors import role_allows, user_role

from .errors import ApiError

logger = logging.getLogger(__name__)


@dataclass
class Caller:
    key: ApiKey
    role: str
    rate_limit_headers: dict[str, str] = field(default_factory=dict)

    @property
    def user(self):
        return self.key.created_by

    def require(self, role: str) -> None:
        if not role_allows(self.role, role):
            raise ApiError(
                403,
                f"This key acts as {self.user.username}, a {self.role} in {self.key.team.name}; "
                f"this call needs the {role} role.",
                code="insufficient_role",
            )

    def projects(self):
        """The projects this key may see: its project, or every project of its team."""
        team_projects = Project.objects.filter(team_id=self.key.team_id)
        if self.key.project_id:
            return team_projects.filter(pk=self.key.project_id)
        return team_projects


def authenticate(request) -> Caller:
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw:
        raise ApiError(
            401,
            "Missing API key: send `Authorization: Bearer <key>`. "
            "Create a key on the studio's API keys page.",
            code="missing_api_key",
        )
    limit, address = throttle.api_key_limit(), throttle.client_address(request)
    wait = throttle.retry_after(limit, address)
    if wait is not None:
        raise ApiError(
            429,
            f"Too many invalid API keys from this address; try again in {wait} s.",
            code="too_many_invalid_keys",
            headers={"Retry-After": str(wait)},
        )
    try:
        return _caller_of(raw)
    except ApiError:
        throttle.record_failure(limit, address)
        raise


def _caller_of(raw: str) -> Caller:
    key = (
        ApiKey.objects.select_related("team", "created_by")
        .filter(digest=api_key_digest(raw))
        .first()
    )
    if key is None:
        raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
    if not key.is_active:
        raise ApiError(401, f"The API key {key.prefix}… was revoked.", code="invalid_api_key")
    role = user_role(key.created_by, key.team_id)
    if role is None or not key.created_by.is_active:
        raise ApiError(
            401,
            f"The API key {key.prefix}… belongs to someone who is no longer in {key.team.name}.",
            code="invalid_api_key",
        )
    api_key_mark_used(key=key)
    return Caller(key=key, role=role)


def rate_limit(caller: Caller) -> dict[str, str]:
    """Count this request in the key's one-minute window; raise 429 past the limit.

    Redis being away must not take the API down with it: then the request passes.
    """
    limit = settings.STUDIO_API_RATE_LIMIT
    if limit <= 0:
        return {}
    now = time.time()
    window = int(now // 60)
    redis_key = f"studio:api:rate:{caller.key.pk}:{window}"
    try:
        conn = throttle.redis_client()
        pipe = conn.pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, 120)
        count = int(pipe.execute()[0])
    except Exception:
        logger.warning("Rate limiting is off: Redis did not answer", exc_info=True)
        return {}
    reset = max(1, int((window + 1) * 60 - now + 0.999))
    headers = {
        "x-ratelimit-limit-requests": str(limit),
        "x-ratelimit-remaining-requests": str(max(0, limit - count)),
        "x-ratelimit-reset-requests": f"{reset}s",
    }
    if count > limit:
        raise ApiError(
            429,
            f"Rate limit reached: {limit} requests per minute for key {caller.key.prefix}…; "
            f"try again in {reset} s.",
            code="rate_limit_exceeded",
            headers={**headers, "Retry-After": str(reset)},
        )
    return headers


class BearerKey(AuthBase):
    """A studio API key as ninja's auth: documented as HTTP bearer, checked and counted here.

    Failures raise ApiError, so a missing, wrong or revoked key and a spent rate limit each
    get their own OpenAI error rather than ninja's bare 401.
    """

    openapi_type = "http"
    openapi_scheme = "bearer"
    openapi_description = "A studio API key (the SDK's `api_key`), from the API keys page."

    def __call__(self, request) -> Caller:
        caller = authenticate(request)
        caller.rate_limit_headers = rate_limit(caller)
        return caller
