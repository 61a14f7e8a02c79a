"""The OpenAPI 3.1 document of /v1, so clients can be generated and checked against the real API.

Field names and shapes follow the official openai SDK; studio extras are marked as such.
"""

from django.conf import settings

from generation.prompting import CAMERA_MOTIONS, STYLE_PRESETS
from generation.spec import MODE_LABELS

JSON = "application/json"
MULTIPART = "multipart/form-data"
BINARY = {"type": "string", "format": "binary"}
RATE_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
)


def _ref(name: str, kind: str = "schemas") -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _s(type_, description: str = "", **extra) -> dict:
    """Build a typed schema; a (type, "null") tuple makes it nullable the 3.1 way."""
    schema = {"type": list(type_) if isinstance(type_, tuple) else type_, **extra}
    if description:
        schema["description"] = description
    return schema


def _obj(properties: dict, required=None, description: str = "", **extra) -> dict:
    """Build an object schema; every property is required unless `required` narrows it."""
    schema = _s("object", description, properties=properties, **extra)
    schema["required"] = list(properties if required is None else required)
    return schema


def _const(value: str) -> dict:
    return {"type": "string", "const": value}


def _json(schema: dict) -> dict:
    return {JSON: {"schema": schema}}


def _headers(*names: str) -> dict:
    return {name: _ref(name, "headers") for name in names}


def _ok(schema: str, description: str, *, poll: bool = False) -> dict:
    """Build a 200 JSON response; Video replies carry the poll hint while the job is active."""
    names = (*RATE_HEADERS, "openai-poll-after-ms") if poll else RATE_HEADERS
    return {
        "200": {
            "description": description,
            "headers": _headers(*names),
            "content": _json(_ref(schema)),
        }
    }


def _param(name: str, where: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema,
    }


ERRORS = {
    "400": ("BadRequest", "A parameter is missing or invalid; `error.param` names it."),
    "401": (
        "Unauthorized",
        "The bearer key is missing, wrong or revoked, or its owner left the team.",
    ),
    "403": ("Forbidden", "The key's owner is a viewer; this call needs the editor role."),
    "404": (
        "NotFound",
        "No such video, model or project for this key (other teams' ids are not found either).",
    ),
    "413": ("TooLarge", "The body or an upload is over the size limit."),
    "429": (
        "RateLimited",
        "The key's requests for this minute are spent; retry after Retry-After.",
    ),
}


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Send the same value when retrying: within 24 h the first video is "
    "returned instead of starting another job (409 while the first is still being created).",
    "schema": {"type": "string", "maxLength": 255},
}


def _op(
    operation_id: str,
    summary: str,
    responses: dict,
    *,
    errors: str = "",
    tag: str = "Videos",
    description: str = "",
    parameters: list | None = None,
    body: dict | None = None,
) -> dict:
    """Build an operation; every authenticated call can also fail with 401 and 429."""
    op = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if description:
        op["description"] = description
    if body:
        # Every create accepts an idempotency key, so a retried request cannot start two jobs.
        parameters = [*(parameters or []), IDEMPOTENCY_KEY]
        op["requestBody"] = body
    if parameters:
        op["parameters"] = parameters
    codes = sorted({"401", "429", *errors.split()})
    op["responses"] = {**responses, **{c: _ref(ERRORS[c][0], "responses") for c in codes}}
    return op


def _body(name: str, description: str, *, multipart: bool = True) -> dict:
    """Point a request body at `<name>Json` (and `<name>Form`, which is what the SDK sends)."""
    content = _json(_ref(f"{name}Json"))
    if multipart:
        content[MULTIPART] = {"schema": _ref(f"{name}Form")}
    return {"required": True, "description": description, "content": content}


def _prompt(description: str) -> dict:
    return _s("string", description, minLength=1, maxLength=2000)


def _model(default: str) -> dict:
    return _s("string", f"An engine id of this studio; GET /v1/models lists them. {default}")


def _project_id(description: str) -> dict:
    return _s(
        "integer",
        f"Studio extra: {description} A key bound to a project may only name that project.",
        minimum=1,
    )


def _create_fields(*, form: bool) -> dict:
    if form:
        reference = {
            "input_reference": {
                **BINARY,
                "description": "An image (PNG, JPEG or WebP) to animate: makes it image-to-video.",
            },
            "input_reference[image_url]": _s(
                "string", "The image as a data: URL instead of a file (how the SDK sends a dict)."
            ),
        }
    else:
        image_url = _s("string", "A `data:image/...;base64,` URL; web URLs are not fetched.")
        reference = {
            "input_reference": _obj(
                {"image_url": image_url},
                description="An image to animate: makes it image-to-video. `file_id` is not "
                "supported.",
            )
        }
    return {
        "prompt": _prompt("What the video shows."),
        "model": _model("Defaults to the studio's default engine."),
        "seconds": _s(
            ("string", "number"),
            'Clip length in seconds, 0.05–600: `4`, `"4"`, `"4.5s"`. Defaults to 4.',
        ),
        "size": _s(
            "string",
            "`WIDTHxHEIGHT` in pixels, within the engine's limits (the error for a size that "
            "does not fit suggests one that does). Defaults to 16:9, 512 px wide.",
            pattern=r"^\s*\d{1,5}\s*[xX×]\s*\d{1,5}\s*$",
            examples=["512x288"],
        ),
        **reference,
        "negative_prompt": _s("string", "Studio extra: what to keep out.", maxLength=2000),
        "fps": _s(
            "integer",
            "Studio extra: frames per second; defaults to the engine's.",
            minimum=1,
            maximum=120,
        ),
        "seed": _s(
            "integer",
            "Studio extra: seed for a repeatable result; left out, a random one is recorded in "
            "the Video's `seed`.",
            minimum=0,
            maximum=2**63 - 1,
        ),
        "steps": _s(
            "integer", "Studio extra: denoising steps, up to the engine's maximum.", minimum=1
        ),
        "camera_motion": _s(
            "string", "Studio extra: a camera move.", enum=list(CAMERA_MOTIONS), default="static"
        ),
        "style": _s(
            "string", "Studio extra: a style preset for the prompt.", enum=list(STYLE_PRESETS)
        ),
        "project_id": _project_id(
            'the project for the video; defaults to the team\'s "API" project.'
        ),
    }


def _derive_fields(prompt: str, *, form: bool, **extra) -> dict:
    """Fields shared by extensions and edits: a source video, given by id or uploaded."""
    if form:
        video = {
            "video": {**BINARY, "description": "An MP4 to work on, uploaded."},
            "video[id]": _s("string", 'Or the id of a completed video (the SDK\'s `{"id": ...}`).'),
        }
    else:
        video = {
            "video": {
                "description": 'The completed video to work on: `{"id": "video_..."}` or the id.',
                "anyOf": [_obj({"id": _s("string")}), _s("string")],
            }
        }
    return {
        "prompt": _prompt(prompt),
        **video,
        **extra,
        "model": _model("It must support this mode; defaults to the first engine that does."),
        "project_id": _project_id(
            "the project for an uploaded video's result; a referenced video's stays in its own."
        ),
    }


def _form_variants(name: str, build, required: list[str], *, video: bool = False) -> dict:
    """Build the JSON and multipart schemas of one request body from one field list."""
    form_required = [r for r in required if r != "video"]
    form = _obj(build(form=True), form_required)
    if video:
        form["anyOf"] = [{"required": ["video"]}, {"required": ["video[id]"]}]
    return {f"{name}Json": _obj(build(form=False), required), f"{name}Form": form}


def _extension_fields(*, form: bool) -> dict:
    return _derive_fields(
        "What happens in the new part.",
        form=form,
        seconds=_s(
            ("string", "number"),
            "Seconds of new footage to add (0.05–600); the result's `seconds` is the total.",
        ),
        direction=_s(
            "string",
            "Studio extra: add after the end, or before the start.",
            enum=["forward", "backward"],
            default="forward",
        ),
    )


def _edit_fields(*, form: bool) -> dict:
    return _derive_fields(
        "How the video should look after the edit.",
        form=form,
        strength=_s(
            "number",
            "Studio extra: how far to move from the source, 0 (keep) to 1 (replace).",
            minimum=0,
            maximum=1,
            default=0.6,
        ),
    )


def _schemas() -> dict:
    video = _obj(
        {
            "id": _s("string", "`video_` and 32 hex digits.", pattern=r"^video_[0-9a-f]{32}$"),
            "object": _const("video"),
            "model": _s("string", "The engine that made it."),
            "status": _s("string", enum=["queued", "in_progress", "completed", "failed"]),
            "progress": _s("integer", "Percent done.", minimum=0, maximum=100),
            "created_at": _s("integer", "Unix seconds when it was queued."),
            "completed_at": _s(("integer", "null"), "Unix seconds when it finished, if it has."),
            "expires_at": _s("null", "Always null: the studio keeps clips until deleted."),
            "seconds": _s("string", "Length in seconds; for an extension, the stitched total."),
            "size": _s("string", "`WIDTHxHEIGHT` in pixels."),
            "prompt": _s("string"),
            "remixed_from_video_id": _s(
                ("string", "null"),
                "The studio video this remixes, extends or edits; null for uploaded sources.",
            ),
            "error": {
                "description": "Why it failed; `code` is `cancelled` for a cancelled job.",
                "anyOf": [_obj({"code": _s("string"), "message": _s("string")}), _s("null")],
            },
            "mode": _s("string", "Studio extra: the kind of run.", enum=list(MODE_LABELS)),
            "project_id": _s("integer", "Studio extra: the project the video is in."),
            "clip_id": _s(("integer", "null"), "Studio extra: the gallery clip, once completed."),
            "seed": _s(("integer", "null"), "Studio extra: the seed used."),
            "fps": _s(("integer", "null"), "Studio extra: frames per second."),
            "notes": _s(
                "array",
                "Studio extra: adjustments the studio made to the request.",
                items=_s("string"),
            ),
        },
        description="A video job. Poll GET /videos/{video_id} until `status` is completed or "
        "failed, then download its content.",
    )
    model = _obj(
        {
            "id": _s("string", "The engine id to pass as `model`."),
            "object": _const("model"),
            "created": _s("integer", "Always 0."),
            "owned_by": _s("string", "Always `studio`."),
            "label": _s("string", "Studio extra: the engine's name."),
            "modes": _s(
                "array", "Studio extra: what it can do.", items=_s("string", enum=list(MODE_LABELS))
            ),
        }
    )
    error = _obj(
        {
            "error": _obj(
                {
                    "message": _s("string", "What went wrong and how to fix it."),
                    "type": _s("string", "e.g. invalid_request_error, permission_error."),
                    "param": _s(("string", "null"), "The request parameter at fault."),
                    "code": _s(("string", "null"), "e.g. model_not_found, video_not_ready."),
                }
            )
        },
        description="The OpenAI error shape; the SDK raises the exception matching the status.",
    )
    return {
        "Video": video,
        "VideoList": _obj(
            {
                "object": _const("list"),
                "data": _s("array", items=_ref("Video")),
                "first_id": _s(("string", "null")),
                "last_id": _s(("string", "null"), "Pass as `after` for the next page."),
                "has_more": _s("boolean"),
            }
        ),
        "VideoDeleted": _obj(
            {"id": _s("string"), "object": _const("video.deleted"), "deleted": _s("boolean")}
        ),
        "Model": model,
        "ModelList": _obj({"object": _const("list"), "data": _s("array", items=_ref("Model"))}),
        "Error": error,
        **_form_variants("CreateVideo", _create_fields, ["prompt"]),
        **_form_variants(
            "ExtendVideo", _extension_fields, ["prompt", "seconds", "video"], video=True
        ),
        **_form_variants("EditVideo", _edit_fields, ["prompt", "video"], video=True),
        "RemixVideoJson": _obj({"prompt": _prompt("The new prompt.")}),
    }


def _components() -> dict:
    limit_mb = settings.STUDIO_MAX_UPLOAD_BYTES // 2**20
    json_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2**20
    responses = {
        name: {"description": text, "content": _json(_ref("Error"))}
        for name, text in ERRORS.values()
    }
    responses["TooLarge"]["description"] += (
        f" Uploads may be {limit_mb} MB; a JSON body (data URLs included) {json_mb} MB."
    )
    responses["RateLimited"]["headers"] = _headers("Retry-After", *RATE_HEADERS)

    def header(type_: str, description: str) -> dict:
        return {"description": description, "schema": _s(type_)}

    return {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "A studio API key (the SDK's `api_key`), from the API keys page.",
            }
        },
        "headers": {
            "x-ratelimit-limit-requests": header("integer", "Requests this key may make a minute."),
            "x-ratelimit-remaining-requests": header("integer", "Requests left this minute."),
            "x-ratelimit-reset-requests": header("string", "Time until the window resets: `42s`."),
            "Retry-After": header("integer", "Seconds to wait before retrying."),
            "openai-poll-after-ms": header(
                "integer",
                "Sent while the video is queued or in progress: milliseconds to wait before "
                "polling again (the SDK's `poll` honours it).",
            ),
        },
        "responses": responses,
        "schemas": _schemas(),
    }


def _paths() -> dict:
    video_id = _param("video_id", "path", _s("string"), "A video id (`video_...`).")
    model_id = _param("model", "path", _s("string"), "An engine id from GET /v1/models.")
    binary = {"schema": BINARY}
    content_ok = {
        "description": "The file. Send `Range` to get a 206 with part of it.",
        "headers": {
            **_headers(*RATE_HEADERS),
            "Accept-Ranges": {"description": "Always `bytes`.", "schema": _s("string")},
        },
        "content": {"video/mp4": binary, "image/jpeg": binary},
    }
    content_range = {"description": "`bytes start-end/size`.", "schema": _s("string")}
    return {
        "/videos": {
            "get": _op(
                "listVideos",
                "List the videos of this key's projects",
                _ok("VideoList", "A page of videos."),
                errors="400 404",
                parameters=[
                    _param("after", "query", _s("string"), "A video id: list from after it."),
                    _param(
                        "limit",
                        "query",
                        _s("integer", minimum=1, maximum=100, default=20),
                        "Videos per page.",
                    ),
                    _param(
                        "order",
                        "query",
                        _s("string", enum=["asc", "desc"], default="desc"),
                        "By creation time; newest first by default.",
                    ),
                ],
            ),
            "post": _op(
                "createVideo",
                "Queue a video from a prompt, and optionally an image",
                _ok("Video", "The queued video.", poll=True),
                errors="400 403 404 413",
                body=_body("CreateVideo", "The SDK sends multipart/form-data; JSON works too."),
            ),
        },
        "/videos/{video_id}": {
            "parameters": [video_id],
            "get": _op(
                "retrieveVideo",
                "Get a video's status",
                _ok("Video", "The video.", poll=True),
                errors="404",
                description="Poll this until `status` is completed or failed, waiting "
                "`openai-poll-after-ms` between calls.",
            ),
            "delete": _op(
                "deleteVideo",
                "Delete a video and its files",
                _ok("VideoDeleted", "The video is gone."),
                errors="400 403 404",
                description="A queued video is cancelled first; one that is rendering is asked "
                "to stop, and answers 400 `video_in_progress` until it has.",
            ),
        },
        "/videos/{video_id}/content": {
            "parameters": [video_id],
            "get": _op(
                "downloadVideoContent",
                "Download a completed video, its thumbnail or its spritesheet",
                {
                    "200": content_ok,
                    "206": {
                        "description": "Part of the file, for a `Range` request.",
                        "headers": {"Content-Range": content_range},
                        "content": {"video/mp4": binary, "image/jpeg": binary},
                    },
                    "416": {
                        "description": "The range lies outside the file.",
                        "headers": {"Content-Range": content_range},
                    },
                },
                errors="400 404",
                description="400 `video_not_ready` until the video is completed.",
                parameters=[
                    _param(
                        "variant",
                        "query",
                        _s("string", enum=["video", "thumbnail", "spritesheet"], default="video"),
                        "`video` is MP4; `thumbnail` and `spritesheet` (a frame grid) are JPEG.",
                    ),
                    _param("Range", "header", _s("string"), "A byte range, e.g. `bytes=0-1023`."),
                ],
            ),
        },
        "/videos/{video_id}/remix": {
            "parameters": [video_id],
            "post": _op(
                "remixVideo",
                "Make a completed video again with a new prompt",
                _ok("Video", "The queued remix.", poll=True),
                errors="400 403 404 413",
                description="The source's settings and seed are kept; the result's "
                "`remixed_from_video_id` is the source.",
                body=_body("RemixVideo", "The new prompt.", multipart=False),
            ),
        },
        "/videos/extensions": {
            "post": _op(
                "extendVideo",
                "Add footage after (or before) a video",
                _ok("Video", "The queued extension.", poll=True),
                errors="400 403 404 413",
                description="Needs an engine that can extend (GET /v1/models, `modes`).",
                body=_body("ExtendVideo", "The SDK sends multipart/form-data; JSON works too."),
            ),
        },
        "/videos/edits": {
            "post": _op(
                "editVideo",
                "Restyle a video with a prompt",
                _ok("Video", "The queued edit.", poll=True),
                errors="400 403 404 413",
                description="Needs an engine that can do video_to_video (GET /v1/models).",
                body=_body("EditVideo", "The SDK sends multipart/form-data; JSON works too."),
            ),
        },
        "/models": {
            "get": _op(
                "listModels",
                "List this studio's engines",
                _ok("ModelList", "The engines."),
                tag="Models",
            ),
        },
        "/models/{model}": {
            "parameters": [model_id],
            "get": _op(
                "retrieveModel",
                "Get one engine",
                _ok("Model", "The engine."),
                errors="404",
                tag="Models",
            ),
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "tags": ["Meta"],
                "security": [],
                "responses": {
                    "200": {"description": "The OpenAPI document.", "content": _json({})}
                },
            }
        },
    }


def openapi_schema(server_url: str) -> dict:
    """Describe /v1 as served at `server_url`, so generated clients call this studio."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Studio Videos API",
            "version": "1",
            "description": "The OpenAI Videos API over this studio's generations: use the "
            "official SDK with `base_url` set to the server below and a studio API key. "
            "Responses to authenticated calls carry `x-ratelimit-*` headers when rate limiting "
            "is on.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "tags": [
            {"name": "Videos", "description": "Make, poll, download and delete videos."},
            {"name": "Models", "description": "The engines this studio runs."},
            {"name": "Meta", "description": "This description of the API."},
        ],
        "paths": _paths(),
        "components": _components(),
    }
