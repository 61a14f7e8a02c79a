"""Resolve what a user asked for into a GenerationRequest for one engine.

Two ways in: an intent (a prompt: text, camera, style, size, duration; the prompt form,
the API and remixes) and a transformation of an existing video (interpolate, upscale,
extend, restyle). Both end in the engine's Capabilities, which decide what fits; the
notes they return tell the user what was adjusted.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from generation import video
from generation.engines.enhance import plan_target
from generation.longvideo import MAX_LONG_SECONDS, chain_kind, plan_segments
from generation.prompting import (
    GUIDANCE_RANGE,
    MOTION_AMOUNT_RANGE,
    camera_speed_factor,
    compose_negative,
    compose_prompt,
    size_for,
)
from generation.spec import MODE_LABELS, SOURCE_SIZED_MODES, GenerationError, GenerationRequest
from generation.upscale import DEFAULT_MODEL
from studio import media
from studio.jobs.engines import EngineInfo, available_engines, engine_info
from studio.jobs.models import Clip

DERIVE_MODES = (
    "interpolate",
    "upscale",
    "enhance",
    "extend_forward",
    "extend_backward",
    "video_to_video",
)

# Where a request field's error is shown, on each surface that takes user input.
#   request field       prompt form       derive form   API parameter
_ERROR_FIELDS = (
    ("prompt", "text", "prompt", "prompt"),
    ("negative_prompt", "negative_text", None, "negative_prompt"),
    ("width", "resolution", None, "size"),
    ("height", "resolution", None, "size"),
    ("size", "resolution", None, "size"),
    ("num_frames", "duration_s", "seconds", "seconds"),
    ("fps", "fps", None, "fps"),
    ("steps", "steps", None, "steps"),
    ("seed", "seed", None, "seed"),
    ("image_path", "image", None, "input_reference"),
    ("last_image_path", None, None, None),
    ("video_path", None, None, "video"),
    ("engine", "engine", "engine", "model"),
    ("mode", "engine", "mode", "model"),
    ("scale", None, "scale", None),
    ("strength", None, "strength", "strength"),
    ("camera_motion", "camera_motion", None, "camera_motion"),
    ("camera_speed", "camera_speed", None, "camera_speed"),
    ("guidance", "guidance", None, "guidance"),
    ("motion_amount", "motion_amount", None, "motion_amount"),
    ("style", "style_preset", None, "style"),
    ("aspect_ratio", "aspect_ratio", None, None),
    ("target_fps", None, "target_fps", None),
    ("target_size", None, "target_size", None),
)
SURFACES = ("prompt_form", "derive_form", "api")


def error_field(error: GenerationError, surface: str) -> str | None:
    """The form field or API parameter a GenerationError belongs to on `surface`, if any."""
    column = SURFACES.index(surface) + 1
    for row in _ERROR_FIELDS:
        if row[0] == error.field:
            return row[column]
    return None


def add_form_error(form, error: GenerationError, surface: str) -> None:
    """Attach `error` to its field on a Django form, or to the form as a whole."""
    name = error_field(error, surface)
    form.add_error(name if name in form.fields else None, error.message)


class Intent(Protocol):
    """What a prompt asks for; a Prompt row has these fields, and so will a storyboard shot."""

    engine: str
    text: str
    negative_text: str
    camera_motion: str
    style_preset: str
    aspect_ratio: str
    resolution: int
    width: int | None
    height: int | None
    duration_s: float
    fps: int
    seed: int | None
    steps: int | None


def engine_prompt(
    info: EngineInfo, text: str, *, camera_motion: str, style: str, camera_speed: str = "normal"
) -> str:
    """What the engine reads: the animatic draws the words; models get the preset phrases."""
    if info.kind == "animatic":
        return text
    return compose_prompt(text, camera_motion=camera_motion, style=style, camera_speed=camera_speed)


def intent_options(info: EngineInfo, intent: Any) -> tuple[dict[str, Any], float | None]:
    """Engine options and guidance from the intent's creative controls, where the engine
    has them: camera speed moves the animatic, motion amount is SVD's motion bucket, and
    guidance goes to engines with a CFG scale. Intents without these fields (storyboard
    shots) get the defaults."""
    options: dict[str, Any] = {}
    speed = getattr(intent, "camera_speed", "") or "normal"
    factor = camera_speed_factor(speed)
    if info.kind == "animatic" and factor != 1.0:
        options["camera_speed"] = factor
    motion = getattr(intent, "motion_amount", None)
    if motion is not None and info.default_motion_amount is not None:
        low, high = MOTION_AMOUNT_RANGE
        if not low <= motion <= high:
            raise GenerationError(f"Motion amount must be {low}–{high}.", field="motion_amount")
        options["motion_bucket_id"] = int(motion)
    guidance = getattr(intent, "guidance", None)
    if guidance is not None and info.default_guidance is None:
        guidance = None  # the engine has no guidance scale; the form hides the field
    low_cfg, high_cfg = GUIDANCE_RANGE
    if guidance is not None and not low_cfg <= guidance <= high_cfg:
        raise GenerationError(f"Guidance must be {low_cfg:g}–{high_cfg:g}.", field="guidance")
    return options, guidance


INTENT_OPTIONS = ("camera_speed", "motion_bucket_id")
"""The engine options `intent_options` sets, which a change of the controls replaces."""


def with_intent_options(
    info: EngineInfo, request: GenerationRequest, intent: Any
) -> GenerationRequest:
    """`request` with its guidance and control options made from `intent` (a remix that
    changes the camera speed, guidance or motion amount); other options stay."""
    extra, guidance = intent_options(info, intent)
    kept = {k: v for k, v in request.options.items() if k not in INTENT_OPTIONS}
    return request.replace(options={**kept, **extra}, guidance=guidance)


def build_request(intent: Intent, *, image_path: str | None) -> tuple[GenerationRequest, list[str]]:
    """Resolve size, frame count and prompt text; raise GenerationError naming the field."""
    info: EngineInfo | None = engine_info(intent.engine)
    if info is None:
        raise GenerationError(f"Engine {intent.engine!r} is not available here.", field="engine")
    caps = info.capabilities
    if intent.width and intent.height:
        width, height = intent.width, intent.height
    else:
        width, height = size_for(
            intent.aspect_ratio, long_side=intent.resolution, multiple=caps.size_multiple
        )
    notes: list[str] = []
    wanted = max(1, round(intent.duration_s * intent.fps))
    options: dict[str, Any] = {}
    if caps.nearest_frames(wanted) > caps.max_frames and chain_kind(caps):
        # Longer than one pass: chain segments of the longest pass (generation.longvideo).
        if wanted > MAX_LONG_SECONDS * intent.fps:
            raise GenerationError(
                f"{info.label} chains clips up to {MAX_LONG_SECONDS} s; "
                f"{intent.duration_s:g} s is longer.",
                field="num_frames",
            )
        options = {"total_frames": wanted}
        segment = caps.frames_at_most(caps.max_frames)
        count = len(plan_segments(caps, wanted, segment))
        how = (
            "each extending the last"
            if chain_kind(caps) == "extend"
            else ("each from the last frame of the one before")
        )
        notes.append(
            f"{info.label} makes up to {segment} frames in one pass: {wanted} frames "
            f"({wanted / intent.fps:.1f} s) come from {count} chained segments, {how}."
        )
        wanted = segment
    elif not caps.min_frames <= caps.nearest_frames(wanted) <= caps.max_frames:
        raise GenerationError(
            f"{info.label} makes {caps.min_frames}–{caps.max_frames} frames: at {intent.fps} fps "
            f"that is {caps.min_frames / intent.fps:.2f}–{caps.max_frames / intent.fps:.2f} s.",
            field="num_frames",
        )
    num_frames = caps.round_frames(wanted)
    if num_frames != wanted and not options:
        notes.append(
            f"{info.label} makes {caps.frame_rule}: {num_frames} frames "
            f"({num_frames / intent.fps:.2f} s) instead of {wanted}."
        )
    # The intent's own options (camera speed, motion amount) join the chain's plan.
    extra, guidance = intent_options(info, intent)
    options = {**options, **extra}
    text = engine_prompt(
        info,
        intent.text.strip(),
        camera_motion=intent.camera_motion,
        style=intent.style_preset,
        camera_speed=getattr(intent, "camera_speed", "") or "normal",
    )
    request = GenerationRequest(
        mode="image_to_video" if image_path else "text_to_video",
        prompt=text,
        negative_prompt=compose_negative(intent.negative_text.strip(), style=intent.style_preset),
        width=width,
        height=height,
        num_frames=num_frames,
        fps=intent.fps,
        seed=intent.seed or 0,
        steps=intent.steps,
        guidance=guidance,
        camera_motion=intent.camera_motion,
        style=intent.style_preset,
        image_path=image_path,
        options=options,
    )
    # Limits apply to what the user wrote, not to the preset phrases we add.
    caps.validate(request.replace(prompt=intent.text.strip()), engine_label=info.label)
    return request, notes


@dataclass(frozen=True)
class SourceVideo:
    """The video a derived request transforms: a clip of ours, or a file someone uploaded.

    `path` is its storage name, which is what the recipe records.
    """

    path: str
    width: int
    height: int
    fps: float
    num_frames: int
    recipe: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of_clip(cls, clip: Clip) -> "SourceVideo":
        return cls(
            path=clip.file.name,
            width=clip.width,
            height=clip.height,
            fps=clip.fps,
            num_frames=clip.num_frames,
            recipe=clip.generation.recipe,
        )

    @classmethod
    def of_file(cls, name: str) -> "SourceVideo":
        """Probe an uploaded file in storage; raise GenerationError when it is not a video.

        Its recipe tags are someone else's input: only well-typed fields are kept.
        """
        with media.local_copy(name) as local:
            info = video.probe(str(local))
        tags = video.recipe_from_metadata(info.metadata)
        tags = tags if isinstance(tags, dict) else {}
        recipe: dict[str, Any] = {
            k: tags[k]
            for k in ("prompt", "negative_prompt", "generation_id")
            if isinstance(tags.get(k), str)
        }
        if isinstance(tags.get("seed"), int) and 0 <= tags["seed"] < 2**63:
            recipe["seed"] = tags["seed"]
        return cls(
            path=name,
            width=info.width,
            height=info.height,
            fps=info.fps,
            num_frames=info.num_frames,
            recipe=recipe,
        )


def _engine_for(mode: str, engine_id: str | None) -> EngineInfo:
    capable = available_engines(modes={mode})
    label = MODE_LABELS[mode]
    if not capable:
        raise GenerationError(
            f"No engine configured here can do {label.lower()}; it needs LTX-Video for "
            "extension, or Wan or CogVideoX for restyling.",
            field="mode",
        )
    if not engine_id:
        return capable[0]
    info = engine_info(engine_id)
    if info is None or mode not in info.capabilities.modes:
        names = ", ".join(e.label for e in capable)
        raise GenerationError(f"{label} needs one of these engines: {names}.", field="engine")
    return info


def build_derived_request(
    source: Clip | SourceVideo,
    *,
    mode: str,
    engine_id: str | None = None,
    scale: int = 2,
    upscale_model: str = DEFAULT_MODEL,
    upscaler: str = "auto",
    target_fps: float | None = None,
    target_size: int | None = None,
    prompt: str = "",
    seconds: float = 2.0,
    strength: float = 0.6,
) -> tuple[EngineInfo, GenerationRequest, list[str]]:
    """Return the engine, the resolved request and notes for the user; raise GenerationError.

    `enhance` takes the clip to `target_fps` and `target_size` (its long side in pixels;
    None keeps either); its request states the result as width, height and fps.
    """
    if mode not in DERIVE_MODES:
        raise GenerationError(f"Unknown action {mode!r}.", field="mode")
    info = _engine_for(mode, engine_id)
    caps = info.capabilities
    src = SourceVideo.of_clip(source) if isinstance(source, Clip) else source
    recipe = src.recipe
    fps = max(1, round(src.fps))
    notes: list[str] = []
    request = GenerationRequest(
        mode=mode,
        prompt=prompt.strip() or recipe.get("prompt", ""),
        negative_prompt=recipe.get("negative_prompt", ""),
        width=src.width,
        height=src.height,
        num_frames=src.num_frames,
        fps=fps,
        seed=int(recipe.get("seed") or 0),
        video_path=src.path,
        scale=scale,
        strength=strength,
        options=(
            {
                "upscale_model": upscale_model,
                **({"upscaler": upscaler} if upscaler != "auto" else {}),
            }
            if mode in ("upscale", "enhance")
            else {}
        ),
    )
    if mode == "enhance":
        target = plan_target(
            src.width,
            src.height,
            src.fps,
            target_fps=target_fps,
            target_long_side=target_size,
            capabilities=caps,
        )
        request = request.replace(
            width=target.width,
            height=target.height,
            fps=round(target.fps),
            scale=target.upscale,
        )
        steps = [f"interpolated ×{target.interpolation}"] if target.interpolation > 1 else []
        if target.upscale > 1:
            fitted = target.width != src.width * target.upscale
            steps.append(f"upscaled ×{target.upscale}{', then fitted' if fitted else ''}")
        notes.append(
            f"{src.width}×{src.height} at {src.fps:g} fps → {target.width}×{target.height} "
            f"at {target.fps:g} fps: {' and '.join(steps)}."
        )
    elif mode in SOURCE_SIZED_MODES:
        if mode == "upscale" and max(src.width, src.height) * scale > caps.max_size:
            raise GenerationError(
                f"×{scale} would make {src.width * scale}×{src.height * scale}; "
                f"the limit is {caps.max_size} px on the long side.",
                field="scale",
            )
    else:
        width, height = caps.fit_size(src.width), caps.fit_size(src.height)
        if (width, height) != (src.width, src.height):
            notes.append(
                f"{info.label} works in multiples of {caps.size_multiple} px: "
                f"{width}×{height} instead of {src.width}×{src.height}."
            )
        if mode == "video_to_video":
            if not prompt.strip():
                raise GenerationError("Describe the new look.", field="prompt")
            frames = caps.frames_at_most(src.num_frames)
        else:
            wanted = max(1, round(seconds * fps))
            frames = caps.round_frames(wanted)
            if frames != wanted:
                notes.append(f"{info.label} adds {caps.frame_rule}: {frames} new frames.")
        request = request.replace(width=width, height=height, num_frames=frames)
    caps.validate(request, engine_label=info.label)
    return info, request, notes
