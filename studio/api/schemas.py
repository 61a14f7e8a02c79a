"""The /v1 contract: each request and response of the OpenAI Videos API, declared once.

The same models validate what comes in, shape what goes out and are what
GET /v1/openapi.json is generated from. Fixed limits are declared here and nowhere else;
limits that depend on the engine (sizes, frame counts, fps, steps) belong to its
Capabilities and are checked when the job is built. Field names follow the official
`openai` SDK; "Studio extra" marks what OpenAI's API does not have.
"""

import base64
import binascii
import re
from typing import Annotated, Any, Literal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadedfile import UploadedFile as DjangoUploadedFile
from ninja import Header, UploadedFile
from ninja.openapi.schema import REF_TEMPLATE
from ninja.schema import NinjaGenerateJsonSchema
from pydantic import (
    AfterValidator,
    BaseModel,
    Discriminator,
    Field,
    Tag,
    field_validator,
)
from pydantic_core import PydanticCustomError, core_schema

from generation.longvideo import MAX_LONG_SECONDS
from generation.prompting import (
    CAMERA_MOTIONS,
    CAMERA_SPEEDS,
    GUIDANCE_RANGE,
    MOTION_AMOUNT_RANGE,
    STYLE_PRESETS,
)
from generation.spec import MODE_LABELS

# ---- Building blocks -------------------------------------------------------------------

_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def _plain_text(value: str) -> str:
    """Refuse NUL and lone surrogates: the database and the engines cannot hold them."""
    if _NOT_TEXT.search(value):
        raise PydanticCustomError("invalid_text", "holds characters that are not valid text")
    return value


Text = Annotated[str, AfterValidator(_plain_text)]
Prompt = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_plain_text)]
EngineId = Annotated[
    str,
    Field(max_length=64, description="An engine id of this studio; GET /v1/models lists them."),
]

# The creative controls of the prompt form, with the form's own limits.
Guidance = Annotated[float, Field(ge=GUIDANCE_RANGE[0], le=GUIDANCE_RANGE[1])]
MotionAmount = Annotated[int, Field(ge=MOTION_AMOUNT_RANGE[0], le=MOTION_AMOUNT_RANGE[1])]
CameraSpeed = Literal[tuple(CAMERA_SPEEDS)]  # type: ignore[valid-type]
GUIDANCE_NOTE = (
    "Studio extra: the guidance (CFG) scale, for engines that have one (GET /v1/models: "
    "`default_guidance` is set); asking an engine without one is a 400."
)
MOTION_AMOUNT_NOTE = (
    "Studio extra: how much moves (Stable Video Diffusion's motion bucket), for engines "
    "that have it (GET /v1/models: `default_motion_amount` is set); others answer 400."
)

SECONDS_TEXT = r"^\d+(\.\d+)?s?$"
# The documented form of `seconds` as text: SECONDS_TEXT within the number's bounds
# (0.05 to 120), so the document promises exactly what is accepted.
SECONDS_PATTERN = r"^0*(120(\.0+)?|1[01]\d(\.\d+)?|[1-9]\d?(\.\d+)?|0\.(0[5-9]|[1-9])\d*)s?$"


class _AlsoAsText:
    """Read a number sent as text too ("4", "4.5s"): the SDK sends `seconds` as a string.

    The bounds stay on the number, so the schema shows them once, on the number branch.
    """

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(_number_text, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict:
        text = {
            "type": "string",
            "pattern": SECONDS_PATTERN,
            "examples": ["4", "4.5s"],
            "description": "The same number as text (0.05 to 120), optionally ending in `s`.",
        }
        return {"anyOf": [handler(schema), text]}


def _number_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # The number validator's to accept or refuse.
    if not re.fullmatch(SECONDS_TEXT, value):
        raise PydanticCustomError("invalid_type", 'must be a number, such as 4 or "4.5s"')
    return float(value.removesuffix("s"))


Seconds = Annotated[float, Field(ge=0.05, le=MAX_LONG_SECONDS), _AlsoAsText()]


def _input_kind(value: Any) -> str | None:
    """Which branch of a file-or-object input a value is, before validating it."""
    if isinstance(value, DjangoUploadedFile):
        return "file"
    if isinstance(value, dict | BaseModel):
        return "object"
    if isinstance(value, str):
        return "id"
    return None


# ---- Requests --------------------------------------------------------------------------

DATA_URL = re.compile(r"^data:(image/[\w.+-]+)?(;base64)?,(.*)$", re.DOTALL)


def _data_url_bytes(url: str) -> tuple[str | None, bytes]:
    match = DATA_URL.match(url)
    if not match:
        raise PydanticCustomError(
            "invalid_value",
            "must be a data: URL (data:image/png;base64,...); this studio does not download "
            "images from the network",
        )
    try:
        raw = base64.b64decode(match.group(3), validate=True) if match.group(2) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if not raw:
        raise PydanticCustomError("invalid_value", "holds no base64 image data")
    return match.group(1), raw


class ImageReference(BaseModel):
    """An image sent inline, as the SDK sends a dict `input_reference`; URLs are never fetched."""

    file_id: str | None = Field(
        None, description="Not supported: upload the image, or send it as a data URL."
    )
    image_url: str = Field(description="A `data:image/...;base64,` URL; web URLs are not fetched.")

    @field_validator("file_id")
    @classmethod
    def _no_file_ids(cls, value: str | None) -> str | None:
        if value:
            raise PydanticCustomError(
                "unsupported_value",
                "is not supported here: upload the image, or send it as a data URL in image_url",
            )
        return value

    @field_validator("image_url")
    @classmethod
    def _data_url(cls, value: str) -> str:
        _data_url_bytes(value)
        return value

    def upload(self) -> SimpleUploadedFile:
        media_type, raw = _data_url_bytes(self.image_url)
        subtype = (media_type or "image/png").split("/")[1]
        return SimpleUploadedFile(f"reference.{subtype}", raw, content_type=media_type)


ImageInput = Annotated[
    Annotated[UploadedFile, Tag("file")] | Annotated[ImageReference, Tag("object")],
    Discriminator(
        _input_kind,
        custom_error_type="invalid_type",
        custom_error_message="must be an image file upload or an object with image_url",
    ),
]


class CreateVideo(BaseModel):
    """Queue a video from a prompt, and optionally an image to animate."""

    prompt: Prompt = Field(description="What the video shows.")
    model: EngineId | None = Field(None, description="Defaults to the studio's default engine.")
    seconds: Seconds = Field(
        4.0, description="Clip length in seconds; the engine's frame limits apply too."
    )
    size: str | None = Field(
        None,
        title="WIDTHxHEIGHT in pixels",
        pattern=r"^[1-9]\d{0,4}x[1-9]\d{0,4}$",
        examples=["512x288"],
        description="Within the engine's limits (the error for a size that does not fit "
        "suggests one that does). Defaults to 16:9, 512 px wide.",
    )
    input_reference: ImageInput | None = Field(
        None,
        description="An image (PNG, JPEG or WebP) to animate, which makes it image-to-video: "
        "a file part of a multipart body, or `{image_url}` with a data URL.",
    )
    negative_prompt: Text = Field("", max_length=2000, description="Studio extra: what to avoid.")
    fps: int | None = Field(
        None,
        ge=1,
        le=120,
        description="Studio extra: frames per second within the engine's range; "
        "defaults to the engine's.",
    )
    seed: int | None = Field(
        None,
        ge=0,
        le=2**63 - 1,
        description="Studio extra: seed for a repeatable result; left out, a random one is "
        "recorded in the Video's `seed`.",
    )
    steps: int | None = Field(
        None, ge=1, description="Studio extra: denoising steps, up to the engine's maximum."
    )
    camera_motion: Literal[tuple(CAMERA_MOTIONS)] = Field(  # type: ignore[valid-type]
        "static", description="Studio extra: a camera move."
    )
    style: Literal[tuple(STYLE_PRESETS)] | None = Field(  # type: ignore[valid-type]
        None, description="Studio extra: a style preset for the prompt."
    )
    camera_speed: CameraSpeed = Field(
        "normal", description="Studio extra: how fast the camera move goes."
    )
    guidance: Guidance | None = Field(
        None, description=GUIDANCE_NOTE + " Defaults to the engine's."
    )
    motion_amount: MotionAmount | None = Field(
        None, description=MOTION_AMOUNT_NOTE + " Defaults to the engine's."
    )
    project_id: int | None = Field(
        None,
        ge=1,
        description='Studio extra: the project for the video; defaults to the team\'s "API" '
        "project. A key bound to a project may only name that project.",
    )

    @property
    def dimensions(self) -> tuple[int, int] | None:
        if self.size is None:
            return None
        width, height = self.size.split("x")
        return int(width), int(height)

    @property
    def image(self) -> DjangoUploadedFile | None:
        if isinstance(self.input_reference, ImageReference):
            return self.input_reference.upload()
        return self.input_reference


class RemixVideo(BaseModel):
    """Make a completed video again, with the same settings and seed, from a new prompt."""

    prompt: Prompt = Field(description="The new prompt.")
    camera_speed: CameraSpeed | None = Field(
        None, description="Studio extra: how fast the camera move goes; defaults to the source's."
    )
    guidance: Guidance | None = Field(
        None, description=GUIDANCE_NOTE + " Defaults to the source's."
    )
    motion_amount: MotionAmount | None = Field(
        None, description=MOTION_AMOUNT_NOTE + " Defaults to the source's."
    )

    @property
    def controls(self) -> dict[str, Any]:
        """The controls this remix changes; the rest are the source's."""
        return {
            name: value
            for name in ("camera_speed", "guidance", "motion_amount")
            if (value := getattr(self, name)) is not None
        }


class VideoReference(BaseModel):
    """A video of this studio, as the SDK sends `video={"id": ...}`."""

    id: str = Field(min_length=1, description="The id of a completed video (`video_...`).")


VideoInput = Annotated[
    Annotated[UploadedFile, Tag("file")]
    | Annotated[VideoReference, Tag("object")]
    | Annotated[str, Tag("id"), Field(min_length=1)],
    Discriminator(
        _input_kind,
        custom_error_type="invalid_type",
        custom_error_message='must be an uploaded video file, {"id": "video_..."} or a video id',
    ),
]


def _any_of(schema: dict) -> None:
    """Document a union as `anyOf`: a file part is also a string, so `oneOf` is untrue."""
    if "oneOf" in schema:
        schema["anyOf"] = schema.pop("oneOf")


class DeriveVideo(BaseModel):
    """What extensions and edits share: a source video, given by id or uploaded."""

    prompt: Prompt
    video: VideoInput = Field(
        description='The video to work on: an MP4 file part, `{"id": "video_..."}` for a '
        "completed video of this studio, or its id.",
        json_schema_extra=_any_of,
    )
    model: EngineId | None = Field(
        None, description="It must support this mode; defaults to the first engine that does."
    )
    project_id: int | None = Field(
        None,
        ge=1,
        description="Studio extra: the project for an uploaded video's result; a referenced "
        "video's result stays in that video's project.",
    )

    @property
    def video_id(self) -> str | None:
        if isinstance(self.video, VideoReference):
            return self.video.id
        return self.video if isinstance(self.video, str) else None

    @property
    def upload(self) -> DjangoUploadedFile | None:
        return self.video if isinstance(self.video, DjangoUploadedFile) else None


class ExtendVideo(DeriveVideo):
    """Add footage after (or before) a video."""

    prompt: Prompt = Field(description="What happens in the new part.")
    seconds: Seconds = Field(
        description="Seconds of new footage; the result's `seconds` is the stitched total."
    )
    direction: Literal["forward", "backward"] = Field(
        "forward", description="Studio extra: add after the end, or before the start."
    )


class EditVideo(DeriveVideo):
    """Restyle a video with a prompt."""

    prompt: Prompt = Field(description="How the video should look after the edit.")
    strength: float = Field(
        0.6,
        ge=0,
        le=1,
        description="Studio extra: how far to move from the source, 0 (keep) to 1 (replace).",
    )


class ListQuery(BaseModel):
    after: str | None = Field(None, description="A video id: list the videos after it.")
    limit: int = Field(20, ge=1, le=100, description="Videos per page.")
    order: Literal["asc", "desc"] = Field(
        "desc", description="By creation time; newest first by default."
    )


class ContentQuery(BaseModel):
    variant: Literal["video", "thumbnail", "spritesheet"] = Field(
        "video",
        description="`video` is MP4; `thumbnail` and `spritesheet` (a frame grid) are JPEG.",
    )


IdempotencyKey = Annotated[
    str | None,
    Header(
        None,
        alias="Idempotency-Key",
        max_length=255,
        description="Send the same value when retrying: within 24 h the first video is "
        "returned instead of starting another job (409 while the first is still being made).",
    ),
]


def form_schema(model: type[BaseModel]) -> dict:
    """The multipart form of a body model, as the SDK sends it, derived from its JSON schema.

    Files are binary parts, objects are `name[key]` fields (`video[id]`) and nothing is
    null; everything else, limits included, is the model's own declaration.
    """
    schema = model.model_json_schema(
        ref_template=REF_TEMPLATE, schema_generator=NinjaGenerateJsonSchema
    )
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    properties: dict[str, Any] = {}
    either: list[dict] = []
    for name, prop in schema["properties"].items():
        branches = _branches(prop, defs)
        files = [b for b in branches if b.get("format") == "binary"]
        objects = [b for b in branches if b.get("type") == "object"]
        if not files and not objects:
            properties[name] = _without_null(prop)
            continue
        fields = []
        if files:
            properties[name] = {**files[0], "description": prop.get("description", "")}
            fields.append(name)
        for part in objects:
            for key, sub in part["properties"].items():
                properties[f"{name}[{key}]"] = _without_null(sub)
            fields += [f"{name}[{key}]" for key in part.get("required", [])]
        if name in required:
            required.discard(name)
            either.append({"anyOf": [{"required": [field]} for field in fields]})
    form = {"type": "object", "properties": properties, "required": sorted(required)}
    if either:
        form["allOf"] = either
    return form


def _branches(prop: dict, defs: dict) -> list[dict]:
    """The alternatives a property allows, nested unions flattened, refs resolved, null left out."""
    if "$ref" in prop:
        return _branches(defs[prop["$ref"].rsplit("/", 1)[-1]], defs)
    union = prop.get("anyOf") or prop.get("oneOf")
    if union is None:
        return [] if prop.get("type") == "null" else [prop]
    return [branch for item in union for branch in _branches(item, defs)]


def _without_null(prop: dict) -> dict:
    union = prop.get("anyOf")
    if not union:
        return prop
    kept = [branch for branch in union if branch.get("type") != "null"]
    rest = {k: v for k, v in prop.items() if k != "anyOf"}
    return {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}


# ---- Responses -------------------------------------------------------------------------


class VideoError(BaseModel):
    code: str = Field(description="`cancelled` for a cancelled job.")
    message: str


class Video(BaseModel):
    """A video job. Poll GET /videos/{video_id} until `status` is completed or failed."""

    id: str = Field(pattern=r"^video_[0-9a-f]{32}$", description="`video_` and 32 hex digits.")
    object: Literal["video"]
    model: str = Field(description="The engine that made it.")
    status: Literal["queued", "in_progress", "completed", "failed"]
    progress: int = Field(ge=0, le=100, description="Percent done.")
    created_at: int = Field(description="Unix seconds when it was queued.")
    completed_at: int | None = Field(description="Unix seconds when it finished, if it has.")
    expires_at: None = Field(description="Always null: the studio keeps clips until deleted.")
    seconds: str = Field(description="Length in seconds; for an extension, the stitched total.")
    size: str = Field(description="`WIDTHxHEIGHT` in pixels.")
    prompt: str
    remixed_from_video_id: str | None = Field(
        description="The studio video this remixes, extends or edits; null for uploaded sources."
    )
    error: VideoError | None = Field(description="Why it failed.")
    mode: Literal[tuple(MODE_LABELS)] = Field(  # type: ignore[valid-type]
        description="Studio extra: the kind of run."
    )
    project_id: int = Field(description="Studio extra: the project the video is in.")
    clip_id: int | None = Field(description="Studio extra: the gallery clip, once completed.")
    seed: int | None = Field(description="Studio extra: the seed used.")
    fps: int | None = Field(description="Studio extra: frames per second.")
    notes: list[str] = Field(
        description="Studio extra: adjustments the studio made to the request."
    )


class VideoList(BaseModel):
    object: Literal["list"]
    data: list[Video]
    first_id: str | None
    last_id: str | None = Field(description="Pass as `after` for the next page.")
    has_more: bool


class VideoDeleted(BaseModel):
    id: str
    object: Literal["video.deleted"]
    deleted: bool


class Model(BaseModel):
    """An engine of this studio; its id is what `model` takes."""

    id: str
    object: Literal["model"]
    created: int = Field(description="Always 0.")
    owned_by: str = Field(description="Always `studio`.")
    label: str = Field(description="Studio extra: the engine's name.")
    modes: list[Literal[tuple(MODE_LABELS)]] = Field(  # type: ignore[valid-type]
        description="Studio extra: what it can do."
    )
    default_guidance: float | None = Field(
        description="Studio extra: its guidance (CFG) scale; null if it takes none."
    )
    default_motion_amount: int | None = Field(
        description="Studio extra: its motion amount; null if it takes none."
    )


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[Model]


class ErrorDetail(BaseModel):
    message: str = Field(description="What went wrong and how to fix it.")
    type: str = Field(description="invalid_request_error, permission_error, ...")
    param: str | None = Field(description="The request parameter at fault.")
    code: str | None = Field(description="model_not_found, video_not_ready, ...")


class Error(BaseModel):
    """OpenAI's error shape; the SDK raises the exception class that matches the status."""

    error: ErrorDetail
