"""Generations and engines as the contract's `Video` and `Model`."""

import uuid

from studio.jobs.engines import EngineInfo
from studio.jobs.models import Generation

from .errors import ApiError
from .schemas import Model, Video, VideoError

ID_PREFIX = "video_"

STATUS = {
    Generation.Status.QUEUED: "queued",
    Generation.Status.RUNNING: "in_progress",
    Generation.Status.SUCCEEDED: "completed",
    Generation.Status.FAILED: "failed",
    Generation.Status.CANCELLED: "failed",
}

EXTENSION_MODES = ("extend_forward", "extend_backward")


def video_id(generation_id) -> str:
    return f"{ID_PREFIX}{uuid.UUID(str(generation_id)).hex}"


def parse_video_id(value: str, *, param: str | None = None) -> uuid.UUID:
    """Turn `video_<hex>` (or a bare UUID) into the generation's primary key, or 404."""
    raw = str(value or "").strip()
    if raw.startswith(ID_PREFIX):
        raw = raw[len(ID_PREFIX) :]
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ApiError(
            404, f"No video found with id {value!r}.", param=param, code="video_not_found"
        ) from None


def _seconds(value: float) -> str:
    return f"{round(value, 3):g}"


def _timestamp(value) -> int | None:
    return int(value.timestamp()) if value else None


def present_video(generation: Generation) -> Video:
    recipe = generation.recipe or {}
    clip = getattr(generation, "clip", None) if generation.status == "succeeded" else None
    if clip is not None:
        size, seconds = f"{clip.width}x{clip.height}", clip.duration_s
    else:
        size = f"{recipe.get('width')}x{recipe.get('height')}"
        fps = recipe.get("fps") or 1
        options = recipe.get("options") or {}
        seconds = (options.get("total_frames") or recipe.get("num_frames", 0)) / fps
        source = generation.source_clip
        if generation.mode in EXTENSION_MODES and source is not None:
            seconds += source.duration_s  # An extension's length is the stitched total.
    prompt = generation.prompt.text if generation.prompt_id else recipe.get("prompt", "")
    error = None
    if generation.status in (Generation.Status.FAILED, Generation.Status.CANCELLED):
        error = VideoError(
            code="cancelled"
            if generation.status == Generation.Status.CANCELLED
            else (generation.error_code or "generation_error"),
            message=generation.error or "The generation failed.",
        )
    finished = generation.status not in Generation.ACTIVE
    return Video(
        id=video_id(generation.pk),
        object="video",
        model=generation.engine,
        status=STATUS[generation.status],
        progress=generation.percent,
        created_at=_timestamp(generation.queued_at),
        completed_at=_timestamp(generation.finished_at) if finished else None,
        expires_at=None,
        seconds=_seconds(seconds),
        size=size,
        prompt=prompt,
        remixed_from_video_id=video_id(generation.source_clip.generation_id)
        if generation.source_clip_id
        else None,
        error=error,
        # Beyond OpenAI's fields: where the clip lives in the studio, and the run's details.
        mode=generation.mode,
        project_id=generation.project_id,
        clip_id=clip.pk if clip is not None else None,
        seed=recipe.get("seed"),
        fps=recipe.get("fps"),
        notes=list(generation.notes or []),
    )


def present_model(info: EngineInfo) -> Model:
    return Model(
        id=info.id,
        object="model",
        created=0,
        owned_by="studio",
        label=info.label,
        modes=sorted(info.capabilities.modes),
        default_guidance=info.default_guidance,
        default_motion_amount=info.default_motion_amount,
    )
