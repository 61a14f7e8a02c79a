"""/v1: the OpenAI Videos API over the studio's generations. Thin views; logic in services.

What each call takes and returns, limits included, is declared once in schemas.py:
django-ninja validates requests against it, shapes responses with it and generates the
OpenAPI document from it (server.py has the OpenAI conventions it answers with).
"""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import Query

from studio import media
from studio.jobs.engines import available_engines, engine_status
from studio.jobs.models import Generation
from studio.jobs.services import clip_spritesheet

from . import presenters, services
from .auth import BearerKey
from .errors import ApiError, error_response
from .params import Payload
from .presenters import present_model, present_video
from .schemas import (
    ContentQuery,
    CreateVideo,
    EditVideo,
    ExtendVideo,
    IdempotencyKey,
    ListQuery,
    Model,
    ModelList,
    RemixVideo,
    Video,
    VideoDeleted,
    VideoList,
)
from .server import StudioApi, contract

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
        return media.serve(request, clip.poster.name)
    if query.variant == "spritesheet":
        try:
            return media.serve(request, clip_spritesheet(clip=clip))
        except FileNotFoundError:
            raise ApiError(404, "The video's file is missing.", code="not_found") from None
    return media.serve(request, clip.file.name)


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
        lambda: services.video_remix(caller=request.auth, source=source, body=body),
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
    status = engine_status(model)
    if status is not None:  # Known (configured, installed or in the catalogue), not runnable.
        raise ApiError(
            404, f"The model {model!r} cannot run here: {status.reason}.", code="model_not_found"
        )
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
