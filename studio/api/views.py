"""/v1: the OpenAI Videos API over the studio's generations. Thin views; logic in services.

What each call takes and returns, limits included, is declared once in schemas.py:
django-ninja validates requests against it, shapes responses with it and generates the
OpenAPI document from it. This module adds what OpenAI's clients expect of every answer:
errors in OpenAI's shape, rate-limit headers, HEAD wherever GET works.
"""

import functools
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import URLPattern
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Query
from ninja.errors import HttpError, ValidationError

from studio.gallery.services import clip_spritesheet
from studio.gallery.views import serve_file
from studio.jobs.engines import available_engines
from studio.jobs.models import Generation

from . import presenters, services
from .auth import BearerKey
from .errors import ApiError, error_response, validation_error
from .params import Payload
from .presenters import present_model, present_video
from .schemas import (
    ContentQuery,
    CreateVideo,
    EditVideo,
    Error,
    ExtendVideo,
    IdempotencyKey,
    ListQuery,
    Model,
    ModelList,
    RemixVideo,
    Video,
    VideoDeleted,
    VideoList,
    form_schema,
)

logger = logging.getLogger(__name__)


class StudioApi(NinjaAPI):
    """django-ninja, with OpenAI's conventions where ninja has its own."""

    def get(self, path: str, **kwargs: Any):  # type: ignore[override]
        """Answer HEAD wherever GET is answered; the server leaves out the body."""
        return self.api_operation(["GET", "HEAD"], path, **kwargs)

    @property
    def urls(self):  # type: ignore[override]
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


api = StudioApi(
    title="Studio Videos API",
    version="1",
    description="The OpenAI Videos API over this studio's generations: use the official SDK "
    "with `base_url` set to the server below and a studio API key. Answers to authenticated "
    "calls carry `x-ratelimit-*` headers when rate limiting is on.",
    auth=BearerKey(),
    urls_namespace="v1",
    openapi_url=None,
    docs_url=None,
    openapi_extra={
        "tags": [
            {"name": "Videos", "description": "Make, poll, download and delete videos."},
            {"name": "Models", "description": "The engines this studio runs."},
            {"name": "Meta", "description": "This description of the API."},
        ]
    },
)


# ---- Every answer in OpenAI's shape ----------------------------------------------------


def _rate_limit_headers(run):
    """Put the key's rate-limit headers on every answer: data, files and errors alike."""

    @functools.wraps(run)
    def inner(request, *args, **kwargs):
        response = run(request, *args, **kwargs)
        for name, value in getattr(
            getattr(request, "auth", None), "rate_limit_headers", {}
        ).items():
            response.setdefault(name, value)
        return response

    return inner


api.add_decorator(_rate_limit_headers, mode="view")


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return exc.response()


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    first = exc.errors[0]
    return error_response(400, first["message"], param=first["param"], code=first["code"])


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return error_response(exc.status_code, str(exc))


@api.exception_handler(Http404)
def _not_found(request, exc: Http404):
    return error_response(404, str(exc) or "Not found.", code="not_found")


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc: RequestDataTooBig):
    return error_response(413, "The request body is too large.", code="request_too_large")


@api.exception_handler(TooManyFieldsSent)
@api.exception_handler(MultiPartParserError)
def _malformed(request, exc: Exception):
    return error_response(400, f"The request body is malformed: {exc}.")


@api.exception_handler(Exception)
def _internal(request, exc: Exception):
    logger.error("API error on %s %s", request.method, request.path, exc_info=exc)
    # A create may have been recorded before the failure: the SDK must not retry it.
    return error_response(
        500,
        "The studio hit an internal error; it has been logged.",
        code="internal_error",
        headers={"x-should-retry": "false"} if request.method == "POST" else None,
    )


# ---- What ninja cannot say itself, for the document ------------------------------------

ERRORS = {
    400: "A parameter is missing or invalid; `error.param` names it.",
    401: "The bearer key is missing, wrong or revoked, or its owner left the team.",
    403: "The key's owner is a viewer; this call needs the editor role.",
    404: "No such video, model or project for this key (other teams' ids are not found either).",
    409: "A request with this Idempotency-Key is still being handled.",
    413: "The body or an upload is over the size limit.",
    429: "The key's requests for this minute are spent; retry after Retry-After.",
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


# ---- Videos ----------------------------------------------------------------------------


def _video(generation: Generation, response: HttpResponse) -> Video:
    if generation.is_active:
        response["openai-poll-after-ms"] = str(settings.STUDIO_API_POLL_AFTER_MS)
    return present_video(generation)


def _created(request, response: HttpResponse, idempotency_key: str | None, make) -> Video:
    generation = services.idempotent(request.auth, idempotency_key or "", make)
    return _video(
        Generation.objects.select_related("prompt", "source_clip", "clip").get(pk=generation.pk),
        response,
    )


@api.get(
    "/videos",
    operation_id="listVideos",
    summary="List the videos of this key's projects",
    tags=["Videos"],
    **contract(VideoList, 400, 404),
)
def video_list(request, query: Query[ListQuery]):
    page, has_more = services.video_page(caller=request.auth, query=query)
    data = [present_video(g) for g in page]
    return VideoList(
        object="list",
        data=data,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=has_more,
    )


@api.post(
    "/videos",
    operation_id="createVideo",
    summary="Queue a video from a prompt, and optionally an image",
    tags=["Videos"],
    **contract(Video, 400, 403, 404, 409, 413, poll=True, form=CreateVideo),
)
def video_create(
    request,
    response: HttpResponse,
    body: Payload[CreateVideo],
    idempotency_key: IdempotencyKey = None,
):
    return _created(
        request,
        response,
        idempotency_key,
        lambda: services.video_create(caller=request.auth, body=body),
    )


# Before /videos/{video_id}, which would take "extensions" and "edits" for ids.
@api.post(
    "/videos/extensions",
    operation_id="extendVideo",
    summary="Add footage after (or before) a video",
    description="Needs an engine that can extend (GET /v1/models, `modes`).",
    tags=["Videos"],
    **contract(Video, 400, 403, 404, 409, 413, poll=True, form=ExtendVideo),
)
def video_extend(
    request,
    response: HttpResponse,
    body: Payload[ExtendVideo],
    idempotency_key: IdempotencyKey = None,
):
    return _created(
        request,
        response,
        idempotency_key,
        lambda: services.video_extend(caller=request.auth, body=body),
    )


@api.post(
    "/videos/edits",
    operation_id="editVideo",
    summary="Restyle a video with a prompt",
    description="Needs an engine that can do video_to_video (GET /v1/models, `modes`).",
    tags=["Videos"],
    **contract(Video, 400, 403, 404, 409, 413, poll=True, form=EditVideo),
)
def video_edit(
    request,
    response: HttpResponse,
    body: Payload[EditVideo],
    idempotency_key: IdempotencyKey = None,
):
    return _created(
        request,
        response,
        idempotency_key,
        lambda: services.video_edit(caller=request.auth, body=body),
    )


@api.get(
    "/videos/{video_id}",
    operation_id="retrieveVideo",
    summary="Get a video's status",
    description="Poll this until `status` is completed or failed, waiting "
    "`openai-poll-after-ms` between calls.",
    tags=["Videos"],
    **contract(Video, 404, poll=True),
)
def video_retrieve(request, response: HttpResponse, video_id: str):
    return _video(services.visible_generation(request.auth, video_id), response)


@api.delete(
    "/videos/{video_id}",
    operation_id="deleteVideo",
    summary="Delete a video and its files",
    description="A queued video is cancelled first; one that is rendering is asked to stop, "
    "and answers 400 `video_in_progress` until it has.",
    tags=["Videos"],
    **contract(VideoDeleted, 400, 403, 404),
)
def video_delete(request, video_id: str):
    generation = services.visible_generation(request.auth, video_id)
    deleted = presenters.video_id(generation.pk)
    services.video_delete(caller=request.auth, generation=generation)
    return VideoDeleted(id=deleted, object="video.deleted", deleted=True)


_FILE = {"schema": {"type": "string", "format": "binary"}}
_CONTENT_RANGE = {"description": "`bytes start-end/size`.", "schema": {"type": "string"}}


@api.get(
    "/videos/{video_id}/content",
    operation_id="downloadVideoContent",
    summary="Download a completed video, its thumbnail or its spritesheet",
    description="400 `video_not_ready` until the video is completed. Send `Range` for part "
    "of the file.",
    tags=["Videos"],
    **contract(
        None,
        400,
        404,
        responses={
            200: {
                "description": "The file.",
                "content": {"video/mp4": _FILE, "image/jpeg": _FILE},
            },
            206: {
                "description": "Part of the file, for a `Range` request.",
                "headers": {"Content-Range": _CONTENT_RANGE},
                "content": {"video/mp4": _FILE, "image/jpeg": _FILE},
            },
            416: {
                "description": "The range lies outside the file.",
                "headers": {"Content-Range": _CONTENT_RANGE},
            },
        },
        parameters=[
            {
                "name": "Range",
                "in": "header",
                "required": False,
                "description": "A byte range, e.g. `bytes=0-1023`.",
                "schema": {"type": "string"},
            }
        ],
    ),
)
def video_content(request, video_id: str, query: Query[ContentQuery]):
    generation = services.visible_generation(request.auth, video_id)
    clip = services.completed_clip(generation)
    if query.variant == "thumbnail":
        return serve_file(request, clip.poster.path)
    if query.variant == "spritesheet":
        return serve_file(request, str(clip_spritesheet(clip=clip)))
    return serve_file(request, clip.file.path)


@api.post(
    "/videos/{video_id}/remix",
    operation_id="remixVideo",
    summary="Make a completed video again with a new prompt",
    description="The source's settings and seed are kept; the result's "
    "`remixed_from_video_id` is the source.",
    tags=["Videos"],
    **contract(Video, 400, 403, 404, 409, 413, poll=True),
)
def video_remix(
    request,
    response: HttpResponse,
    video_id: str,
    body: Payload[RemixVideo],
    idempotency_key: IdempotencyKey = None,
):
    source = services.visible_generation(request.auth, video_id)
    return _created(
        request,
        response,
        idempotency_key,
        lambda: services.video_remix(caller=request.auth, source=source, prompt=body.prompt),
    )


# ---- Models and the document -----------------------------------------------------------


@api.get(
    "/models",
    operation_id="listModels",
    summary="List this studio's engines",
    tags=["Models"],
    **contract(ModelList),
)
def model_list(request):
    return ModelList(object="list", data=[present_model(i) for i in available_engines()])


@api.get(
    "/models/{model}",
    operation_id="retrieveModel",
    summary="Get one engine",
    tags=["Models"],
    **contract(Model, 404),
)
def model_retrieve(request, model: str):
    for info in available_engines():
        if info.id == model:
            return present_model(info)
    raise ApiError(404, f"The model {model!r} does not exist here.", code="model_not_found")


@api.get(
    "/openapi.json",
    auth=None,
    operation_id="getOpenApi",
    summary="This document",
    tags=["Meta"],
    response=dict,
    openapi_extra={"security": []},
)
def openapi(request):
    """Served to anyone: it documents the API and holds nothing private."""
    schema = api.get_openapi_schema()
    schema["servers"] = [{"url": request.build_absolute_uri(".").rstrip("/")}]
    return JsonResponse(schema)


@csrf_exempt
def not_found(request, rest: str = ""):
    return error_response(
        404, f"Unknown API path {request.method} {request.path}.", code="not_found"
    )
