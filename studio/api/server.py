"""How /v1 answers: django-ninja with OpenAI's conventions where ninja has its own.

Every failure is an OpenAI error (`{"error": {"message", "type", "param", "code"}}`),
pydantic's included; a method a path lacks is OpenAI's 405; HEAD works wherever GET
does; every answer to a key carries its rate-limit headers. `contract()` documents, for
each operation, what ninja cannot take from the models: error statuses, headers, forms.
"""

import functools
import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, HttpResponseNotAllowed
from django.http.multipartparser import MultiPartParserError
from django.urls import URLPattern
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError
from ninja.parser import Parser

from .errors import ApiError, error_response, validation_error
from .schemas import Error, form_schema

logger = logging.getLogger(__name__)


class StudioParser(Parser):
    """ninja's parser, refusing a query parameter sent twice instead of keeping the last.

    No /v1 parameter is a list, so `?limit=abc&limit=` is a client's mistake to report,
    not a page of 20.
    """

    def parse_querydict(self, data, list_fields, request):
        for key in data:
            if key not in list_fields and len(data.getlist(key)) > 1:
                raise ApiError(
                    400,
                    f"The query parameter '{key}' was given more than once; send it once.",
                    param=key,
                    code="invalid_value",
                )
        return super().parse_querydict(data, list_fields, request)


class StudioApi(NinjaAPI):
    """A NinjaAPI that answers as OpenAI's API does."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("parser", StudioParser())
        super().__init__(**kwargs)
        self.add_decorator(_rate_limit_headers, mode="view")

    def set_default_exception_handlers(self) -> None:
        for exc_class, handler in EXCEPTION_HANDLERS.items():
            self.add_exception_handler(exc_class, handler)

    def get(self, path: str, **kwargs: Any):
        """Answer HEAD wherever GET is answered; the server leaves out the body."""
        return self.api_operation(["GET", "HEAD"], path, **kwargs)

    @property
    def urls(self):
        """ninja's routes, less its docs root, with OpenAI's 405 instead of ninja's bare one."""
        patterns, app_name, namespace = super().urls
        routes = [
            URLPattern(p.pattern, _openai_405(p.callback), p.default_args, p.name)
            for p in patterns
            if p.name != "api-root"
        ]
        return routes, app_name, namespace

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """The document, with paths relative to the server URL the caller is given."""
        schema = super().get_openapi_schema(path_prefix=path_prefix or "", path_params=path_params)
        for item in schema["paths"].values():
            item.pop("head", None)  # HEAD is GET without a body; it would repeat GET's id.
        return schema

    def validation_error_from_error_contexts(self, error_contexts) -> ValidationError:
        """One OpenAI error per pydantic error, worded from the field's declaration."""
        errors = []
        for context in error_contexts:
            for error in context.pydantic_validation_error.errors(include_url=False):
                found = validation_error(error, context.model)
                errors.append({"message": found.message, "param": found.param, "code": found.code})
        return ValidationError(errors)


def _openai_405(view):
    """Turn the bare 405 ninja gives a method the path lacks into OpenAI's error."""

    @functools.wraps(view)
    def inner(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = sorted(set(response["Allow"].split(", ")) - {"HEAD"})
            return error_response(
                405,
                f"{request.method} is not allowed on {request.path}; use {' or '.join(allowed)}.",
                code="method_not_allowed",
                headers={"Allow": response["Allow"]},
            )
        return response

    return inner


def _rate_limit_headers(run):
    """Put the key's rate-limit headers on every answer: data, files and errors alike."""

    @functools.wraps(run)
    def inner(request, *args, **kwargs):
        response = run(request, *args, **kwargs)
        caller = getattr(request, "auth", None)  # Set once the key is known.
        for name, value in (caller.rate_limit_headers if caller else {}).items():
            response.setdefault(name, value)
        return response

    return inner


def _invalid(request, exc: ValidationError):
    first = exc.errors[0]
    return error_response(400, first["message"], param=first["param"], code=first["code"])


def _malformed(request, exc: Exception):
    return error_response(400, f"The request body is malformed: {exc}.")


def _internal(request, exc: Exception):
    logger.error("API error on %s %s", request.method, request.path, exc_info=exc)
    # A create may have been recorded before the failure: the SDK must not retry it.
    return error_response(
        500,
        "The studio hit an internal error; it has been logged.",
        code="internal_error",
        headers={"x-should-retry": "false"} if request.method == "POST" else None,
    )


EXCEPTION_HANDLERS = {
    ApiError: lambda request, exc: exc.response(),
    ValidationError: _invalid,
    HttpError: lambda request, exc: error_response(exc.status_code, str(exc)),
    Http404: lambda request, exc: error_response(404, str(exc) or "Not found.", code="not_found"),
    RequestDataTooBig: lambda request, exc: error_response(
        413, "The request body is too large.", code="request_too_large"
    ),
    TooManyFieldsSent: _malformed,
    MultiPartParserError: _malformed,
    Exception: _internal,
}


# ---- For the document: what ninja cannot take from the models ------------------------

ERRORS = {
    400: "A parameter is missing or invalid; `error.param` names it.",
    401: "The bearer key is missing, wrong or revoked, or its owner left the team.",
    403: "The key's owner is a viewer; this call needs the editor role.",
    404: "No such video, model or project for this key (other teams' ids are not found either).",
    409: "A request with this Idempotency-Key is still being handled.",
    413: "The body or an upload is over the size limit.",
    429: "The key's requests for this minute are spent, or this address sent too many invalid "
    "keys; retry after Retry-After.",
}
RATE_HEADERS = {
    "x-ratelimit-limit-requests": ("integer", "Requests this key may make a minute."),
    "x-ratelimit-remaining-requests": ("integer", "Requests left this minute."),
    "x-ratelimit-reset-requests": ("string", "Time until the window resets: `42s`."),
}
POLL_HEADER = {
    "openai-poll-after-ms": (
        "integer",
        "Sent while the video is queued or in progress: milliseconds to wait before polling "
        "again (the SDK's `poll` honours it).",
    )
}


def _headers(headers: dict[str, tuple[str, str]]) -> dict:
    return {
        name: {"description": text, "schema": {"type": kind}}
        for name, (kind, text) in headers.items()
    }


def contract(
    ok: Any,
    *errors: int,
    poll: bool = False,
    form: Any = None,
    responses: dict | None = None,
    parameters: list | None = None,
) -> dict:
    """Arguments for an operation: the 200 model, the error statuses and their documentation.

    Every call can also answer 401 and 429. A body model given as `form` is documented as
    multipart too, as the SDK sends it; `responses` and `parameters` add what ninja cannot
    declare (files, ranges).
    """
    statuses = sorted({401, 429, *errors})
    documented: dict[Any, Any] = {status: {"description": ERRORS[status]} for status in statuses}
    documented[429]["headers"] = _headers(
        {"Retry-After": ("integer", "Seconds to wait before retrying."), **RATE_HEADERS}
    )
    documented[200] = {"headers": _headers({**RATE_HEADERS, **(POLL_HEADER if poll else {})})}
    for status, extra in (responses or {}).items():
        documented[status] = {**documented.get(status, {}), **extra}
    openapi_extra: dict[str, Any] = {"responses": documented}
    if parameters:
        openapi_extra["parameters"] = parameters
    if form is not None:
        multipart = {"multipart/form-data": {"schema": form_schema(form)}}
        openapi_extra["requestBody"] = {
            "content": multipart,
            "description": "The SDK sends multipart/form-data; JSON works too.",
        }
    return {
        "response": {200: ok, **{status: Error for status in statuses}},
        "openapi_extra": openapi_extra,
    }
