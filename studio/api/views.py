"""/v1: the OpenAI Videos API over the studio's generations. Thin views; logic in services."""

import functools
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from studio import media
from studio.jobs.engines import available_engines
from studio.jobs.models import Generation
from studio.jobs.services import clip_spritesheet

from . import params, services
from .auth import authenticate, rate_limit
from .errors import ApiError, error_response
from .presenters import video_id, video_json
from .schema import openapi_schema

logger = logging.getLogger(__name__)

MAX_LIST = 100


def endpoint(*methods: str):
    """Authenticate, rate-limit and turn every failure into an OpenAI-shaped error."""

    def wrap(view):
        @csrf_exempt
        @functools.wraps(view)
        def inner(request, *args, **kwargs):
            headers: dict[str, str] = {}
            try:
                caller = authenticate(request)
                headers = rate_limit(caller)
                allowed = methods + (("HEAD",) if "GET" in methods else ())
                if request.method not in allowed:
                    raise ApiError(
                        405,
                        f"{request.method} is not allowed on {request.path}; "
                        f"use {' or '.join(methods)}.",
                        code="method_not_allowed",
                    )
                try:
                    length = int(request.META.get("CONTENT_LENGTH") or 0)
                except ValueError:
                    raise ApiError(400, "The Content-Length header is not a number.") from None
                limit = settings.STUDIO_MAX_UPLOAD_BYTES + (1 << 20)
                if length > limit:
                    raise ApiError(
                        413,
                        f"The request body is {length / 2**20:.1f} MB; the limit is "
                        f"{settings.STUDIO_MAX_UPLOAD_BYTES // 2**20} MB.",
                        code="request_too_large",
                    )
                response = view(request, caller, *args, **kwargs)
            except ApiError as e:
                response = e.response()
            except RequestDataTooBig:
                response = error_response(
                    413, "The request body is too large.", code="request_too_large"
                )
            except (TooManyFieldsSent, MultiPartParserError) as e:
                response = error_response(400, f"The request body is malformed: {e}.")
            except Http404 as e:
                response = error_response(404, str(e) or "Not found.", code="not_found")
            except Exception:
                logger.exception("API error on %s %s", request.method, request.path)
                # A create may have been recorded before the failure: the SDK must not retry it.
                response = error_response(
                    500,
                    "The studio hit an internal error; it has been logged.",
                    code="internal_error",
                    headers={"x-should-retry": "false"} if request.method == "POST" else None,
                )
            for name, value in headers.items():
                response.setdefault(name, value)
            return response

        return inner

    return wrap


def _video(generation: Generation, status: int = 200) -> JsonResponse:
    response = JsonResponse(video_json(generation), status=status)
    if generation.is_active:
        response["openai-poll-after-ms"] = str(settings.STUDIO_API_POLL_AFTER_MS)
    return response


def _created(request, caller, make) -> JsonResponse:
    token = request.headers.get("Idempotency-Key", "")
    generation = services.idempotent(caller, token, make)
    return _video(
        Generation.objects.select_related("prompt", "source_clip", "clip").get(pk=generation.pk)
    )


@endpoint("GET", "POST")
def videos(request, caller):
    if request.method == "POST":
        data, files = params.read_body(request)
        return _created(
            request, caller, lambda: services.video_create(caller=caller, data=data, files=files)
        )
    return _video_list(request, caller)


def _video_list(request, caller):
    query = request.GET
    limit = params.number(query, "limit", default=20, integer=True, low=1, high=MAX_LIST)
    order = params.choice(query, "order", ["asc", "desc"], default="desc")
    items = Generation.objects.filter(project__in=caller.projects()).select_related(
        "prompt", "source_clip", "clip"
    )
    after = query.get("after")
    if after:
        key = services.list_cursor(caller, after)
        if order == "desc":
            items = items.filter(queued_at__lt=key[0]) | items.filter(
                queued_at=key[0], pk__lt=key[1]
            )
        else:
            items = items.filter(queued_at__gt=key[0]) | items.filter(
                queued_at=key[0], pk__gt=key[1]
            )
    sort = ("-queued_at", "-pk") if order == "desc" else ("queued_at", "pk")
    page = list(items.order_by(*sort)[: limit + 1])
    data = [video_json(g) for g in page[:limit]]
    return JsonResponse(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": len(page) > limit,
        }
    )


@endpoint("GET", "DELETE")
def video_detail(request, caller, video: str):
    generation = services.visible_generation(caller, video)
    if request.method == "DELETE":
        deleted = video_id(generation.pk)
        services.video_delete(caller=caller, generation=generation)
        return JsonResponse({"id": deleted, "object": "video.deleted", "deleted": True})
    return _video(generation)


@endpoint("GET")
def video_content(request, caller, video: str):
    generation = services.visible_generation(caller, video)
    variant = params.choice(
        request.GET, "variant", ["video", "thumbnail", "spritesheet"], default="video"
    )
    clip = services.completed_clip(generation)
    if variant == "thumbnail":
        return media.serve(request, clip.poster.name)
    if variant == "spritesheet":
        return media.serve(request, clip_spritesheet(clip=clip))
    return media.serve(request, clip.file.name)


@endpoint("POST")
def video_remix(request, caller, video: str):
    source = services.visible_generation(caller, video)
    data, _ = params.read_body(request)
    return _created(
        request, caller, lambda: services.video_remix(caller=caller, source=source, data=data)
    )


@endpoint("POST")
def video_extensions(request, caller):
    data, files = params.read_body(request)
    return _created(
        request, caller, lambda: services.video_extend(caller=caller, data=data, files=files)
    )


@endpoint("POST")
def video_edits(request, caller):
    data, files = params.read_body(request)
    return _created(
        request, caller, lambda: services.video_edit(caller=caller, data=data, files=files)
    )


def _model_json(info) -> dict:
    return {
        "id": info.id,
        "object": "model",
        "created": 0,
        "owned_by": "studio",
        "label": info.label,
        "modes": sorted(info.capabilities.modes),
    }


@endpoint("GET")
def models(request, caller):
    return JsonResponse({"object": "list", "data": [_model_json(i) for i in available_engines()]})


@endpoint("GET")
def model_detail(request, caller, model: str):
    for info in available_engines():
        if info.id == model:
            return JsonResponse(_model_json(info))
    raise ApiError(404, f"The model {model!r} does not exist here.", code="model_not_found")


@csrf_exempt
def openapi(request):
    """Serve the schema to anyone: it documents the API and holds nothing private."""
    if request.method not in ("GET", "HEAD"):
        return error_response(405, "Use GET for the schema.", code="method_not_allowed")
    return JsonResponse(openapi_schema(request.build_absolute_uri("/v1")))


@csrf_exempt
def not_found(request, rest: str = ""):
    return error_response(
        404, f"Unknown API path {request.method} {request.path}.", code="not_found"
    )
