"""Resolve a request that transforms an existing clip: interpolate, upscale, extend, restyle."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from generation import video
from generation.spec import MODE_LABELS, GenerationError, GenerationRequest
from studio.gallery.models import Clip
from studio.jobs.engines import EngineInfo, available_engines, engine_info

DERIVE_MODES = ("interpolate", "upscale", "extend_forward", "extend_backward", "video_to_video")

# Which form field a request field's error belongs to.
FIELD_FOR = {
    "scale": "scale",
    "prompt": "prompt",
    "num_frames": "seconds",
    "strength": "strength",
    "engine": "engine",
    "mode": "mode",
}


@dataclass(frozen=True)
class SourceVideo:
    """The video a derived request transforms: a clip of ours, or a file someone uploaded."""

    path: str
    width: int
    height: int
    fps: float
    num_frames: int
    recipe: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of_clip(cls, clip: Clip) -> "SourceVideo":
        return cls(
            path=clip.file.path,
            width=clip.width,
            height=clip.height,
            fps=clip.fps,
            num_frames=clip.num_frames,
            recipe=clip.generation.recipe,
        )

    @classmethod
    def of_file(cls, path: str) -> "SourceVideo":
        """Probe an uploaded file; raise GenerationError when it is not a video.

        Its recipe tags are someone else's input: only well-typed fields are kept.
        """
        info = video.probe(path)
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
            path=path,
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
    upscale_model: str = "general",
    prompt: str = "",
    seconds: float = 2.0,
    strength: float = 0.6,
) -> tuple[EngineInfo, GenerationRequest, list[str]]:
    """Return the engine, the resolved request and notes for the user; raise GenerationError."""
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
        options={"upscale_model": upscale_model} if mode == "upscale" else {},
    )
    if mode in ("interpolate", "upscale"):
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
            frames = caps.round_frames(src.num_frames)
            while frames > src.num_frames and frames - caps.frame_multiple >= caps.min_frames:
                frames -= max(1, caps.frame_multiple)
        else:
            wanted = max(1, round(seconds * fps))
            frames = caps.round_frames(wanted)
            if frames != wanted:
                notes.append(f"{info.label} adds {caps.frame_rule}: {frames} new frames.")
        request = request.replace(width=width, height=height, num_frames=frames)
    caps.validate(request, engine_label=info.label)
    return info, request, notes
