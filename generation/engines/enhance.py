"""Enhance engine: frame interpolation, upscaling, or both to a target, of an existing clip.

Interpolation runs on the CPU; upscaling runs Real-ESRGAN on a CUDA GPU through torch when
the worker has one, on the CPU through ncnn otherwise (`generation.upscale`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from generation import memory
from generation.enhance import DEFAULT_INTERPOLATION, INTERPOLATION_FACTORS
from generation.spec import (
    Capabilities,
    GenerationError,
    GenerationRequest,
    Progress,
    VideoResult,
)
from generation.upscale import DEFAULT_MODEL, UPSCALE_FACTORS, UpscaleInfo

if TYPE_CHECKING:
    from generation.cache import PipelineCache
    from generation.video import VideoInfo

MAX_OUTPUT_SIDE = 3840
"""Upscaled frames larger than 4K UHD would exhaust a worker's memory for a whole clip."""


@dataclass(frozen=True)
class Target:
    """How `enhance` reaches a target: factors for each stage and the result it makes."""

    interpolation: int  # 1: the frame rate stays
    upscale: int  # the model's factor; 1: the size stays
    width: int
    height: int
    fps: float


def plan_target(
    width: int,
    height: int,
    fps: float,
    *,
    target_fps: float | None,
    target_long_side: int | None,
    capabilities: Capabilities,
) -> Target:
    """Plan taking a `width`×`height` clip at `fps` to a target; None keeps that property.

    The frame rate must be the source's times 2, 3 or 4 (within 1% or half a frame per
    second, so 29.97 → 60 works and a rounded rate means the source's);
    the size may be anything between the source and ×4 within the engine's largest side,
    keeping the aspect ratio: the clip is upscaled by the next factor up and shrunk to fit.
    Errors name `target_fps` or `target_size` and say which targets work.
    """
    caps = capabilities
    interpolation = 1
    if target_fps is not None:
        factors = [f for f in (1, *INTERPOLATION_FACTORS) if fps * f <= caps.max_fps + 0.5]
        for f in factors:
            if abs(target_fps - fps * f) <= max(0.5, 0.01 * fps * f):
                interpolation = f
                break
        else:
            reachable = [f"{fps * f:g}" for f in factors if f > 1]
            if not reachable:
                raise GenerationError(
                    f"At {fps:g} fps the clip cannot go faster here (the limit is "
                    f"{caps.max_fps} fps).",
                    field="target_fps",
                )
            *rest, last = reachable
            options = f"{', '.join(rest)} or {last}" if rest else last
            raise GenerationError(
                f"From {fps:g} fps, interpolation reaches {options} fps; "
                f"{target_fps:g} is not one of them.",
                field="target_fps",
            )
    long_side = max(width, height)
    upscale, out_w, out_h = 1, width, height
    if target_long_side is not None and target_long_side != long_side:
        largest = min(long_side * max(UPSCALE_FACTORS), caps.max_size)
        if not long_side < target_long_side <= largest:
            raise GenerationError(
                f"The target size is the long side in pixels: from {width}×{height} it can be "
                f"{long_side}–{largest} px (up to ×{max(UPSCALE_FACTORS)}, at most "
                f"{caps.max_size} px).",
                field="target_size",
            )
        upscale = next(s for s in UPSCALE_FACTORS if long_side * s >= target_long_side)
        ratio = target_long_side / long_side
        m = caps.size_multiple
        out_w, out_h = (max(m, round(side * ratio / m) * m) for side in (width, height))
    if interpolation == 1 and upscale == 1:
        raise GenerationError(
            f"Choose a target frame rate above {fps:g} fps or a size above "
            f"{width}×{height}: the clip is already there.",
            field="target_fps",
        )
    return Target(interpolation, upscale, out_w, out_h, fps * interpolation)


def _upscale_info(used: UpscaleInfo) -> dict[str, Any]:
    return {"backend": used.backend, "model": used.model, "runtime": used.runtime}


class _Stage:
    """Report one stage's steps as part of a job's: offset by the stages before it."""

    def __init__(self, progress: Progress, offset: int, total: int):
        self.progress, self.offset, self.total = progress, offset, total

    def step(self, done: int, total: int, preview: np.ndarray | None = None) -> None:
        self.progress.step(self.offset + done, self.total, preview)

    def cancelled(self) -> bool:
        return self.progress.cancelled()


class EnhanceEngine:
    """Make a clip smoother (interpolate ×2–×4), larger (upscale ×2–×4) or both ("enhance
    to target"), keeping its duration.

    `upscale_model` is the default model (`fast`); `upscaler` the backend (auto,
    realesrgan, lanczos); `device` where torch runs Real-ESRGAN ("auto": the worker's
    device, which is CUDA when a GPU is visible; on the CPU ncnn runs it).
    """

    def __init__(
        self,
        engine_id: str = "enhance",
        interpolation: str = DEFAULT_INTERPOLATION,
        upscaler: str = "auto",
        upscale_model: str = DEFAULT_MODEL,
        device: str = "auto",
        cache: PipelineCache | None = None,
        rife_weights: str | None = None,
        **_: Any,
    ):
        self.id = engine_id
        self.label = "Enhance (frame interpolation, upscaling)"
        self.interpolation = interpolation
        self.upscaler = upscaler
        self.upscale_model = upscale_model
        self.device = device
        self.cache = cache
        self.rife_weights = rife_weights
        self.capabilities = Capabilities(
            modes=frozenset({"interpolate", "upscale", "enhance"}),
            min_size=16,
            max_size=MAX_OUTPUT_SIDE,
            size_multiple=2,
            max_frames=10_000,
            min_fps=1,
            max_fps=120,
            scales={"interpolate": INTERPOLATION_FACTORS, "upscale": UPSCALE_FACTORS},
        )

    def generate(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        from generation import enhance
        from generation.video import probe, read_video

        self.capabilities.validate(request, engine_label=self.label)
        scale, path = request.scale, str(request.video_path)  # validate requires the path.
        source = probe(path)
        target = self._target(source, request) if request.mode == "enhance" else None
        self._check_fits(source, request, target)
        frames, info = read_video(path)
        src_fps = info.fps or float(request.fps)
        if target is not None:
            return self._enhance(frames, src_fps, target, request, progress)
        if request.mode == "interpolate":
            method = str(request.options.get("interpolation", self.interpolation))
            out, how = enhance.interpolate_with_info(
                frames, scale, method=method, rife_weights=self.rife_weights, progress=progress
            )
            fps = src_fps * scale
            note = (
                f"Interpolated ×{scale} ({how.summary}): {info.num_frames} → {len(out)} "
                f"frames, {src_fps:g} → {fps:g} fps."
            )
            return VideoResult(
                out,
                fps,
                notes=[note, how.note] if how.note else [note],
                info={"method": how.used, "rife_share": round(how.rife_share, 3)},
            )
        out, used = self._upscale(frames, scale, None, request, progress)
        return VideoResult(out, src_fps, notes=[used.note], info=_upscale_info(used))

    def _upscale_options(self, request: GenerationRequest) -> dict[str, Any]:
        device = self.device
        if device == "auto" and self.cache is not None:
            device = self.cache.device
        return {
            "model": str(request.options.get("upscale_model", self.upscale_model)),
            "backend": str(request.options.get("upscaler", self.upscaler)),
            "device": device,
        }

    def _upscale(
        self,
        frames: np.ndarray,
        scale: int,
        size: tuple[int, int] | None,
        request: GenerationRequest,
        progress: Progress,
    ) -> tuple[np.ndarray, UpscaleInfo]:
        from generation import upscale

        return upscale.upscale_with_info(
            frames,
            scale,
            size=size,
            cache=self.cache,
            cache_owner=self.id,
            progress=progress,
            **self._upscale_options(request),
        )

    def _target(self, source: VideoInfo, request: GenerationRequest) -> Target:
        """The plan for an `enhance` request, whose width, height and fps are the target."""
        target = plan_target(
            source.width,
            source.height,
            source.fps or float(request.fps),
            target_fps=request.fps,
            target_long_side=max(request.width, request.height),
            capabilities=self.capabilities,
        )
        if (target.width, target.height) != (request.width, request.height):
            raise GenerationError(
                f"Enhancing keeps the clip's shape: for a long side of "
                f"{max(request.width, request.height)} px it makes {target.width}×"
                f"{target.height}, not {request.width}×{request.height}.",
                field="target_size",
            )
        return target

    def _enhance(
        self,
        frames: np.ndarray,
        src_fps: float,
        target: Target,
        request: GenerationRequest,
        progress: Progress,
    ) -> VideoResult:
        """Interpolate, then upscale the result, as one job with one progress bar."""
        from generation import enhance, upscale

        t, h, w, _ = frames.shape
        method = str(request.options.get("interpolation", self.interpolation))
        interp_steps = t - 1 if target.interpolation > 1 else 0
        out_frames = (t - 1) * target.interpolation + 1
        upscale_steps = 0
        if (target.width, target.height) != (w, h):
            opts = self._upscale_options(request)
            upscale_steps = upscale.upscale_steps(
                out_frames, h, w, target.upscale, model=opts["model"], backend=opts["backend"],
                device=opts["device"],
            )  # fmt: skip
        total = interp_steps + upscale_steps
        notes: list[str] = []
        info: dict[str, Any] = {}
        if target.interpolation > 1:
            frames, how = enhance.interpolate_with_info(
                frames,
                target.interpolation,
                method=method,
                rife_weights=self.rife_weights,
                progress=_Stage(progress, 0, total),
            )
            notes.append(
                f"Interpolated ×{target.interpolation} ({how.summary}): {t} → {len(frames)} "
                f"frames, {src_fps:g} → {target.fps:g} fps."
            )
            if how.note:
                notes.append(how.note)
            info.update(method=how.used, rife_share=round(how.rife_share, 3))
        if upscale_steps:
            frames, used = self._upscale(
                frames,
                target.upscale,
                (target.width, target.height),
                request,
                _Stage(progress, interp_steps, total),
            )
            notes.append(used.note)
            info.update(_upscale_info(used))
        notes.insert(0, f"Enhanced to {target.width}×{target.height} at {target.fps:g} fps.")
        return VideoResult(frames, target.fps, notes=notes, info=info)

    def _check_fits(
        self, info: VideoInfo, request: GenerationRequest, target: Target | None = None
    ) -> None:
        """Refuse before decoding: the whole clip and its result are held in memory at once."""
        scale = request.scale
        src_pixels = info.width * info.height
        if target is not None:
            frames = (info.num_frames - 1) * target.interpolation + 1
            # The source, the interpolated clip and the upscaled one are alive together.
            pixels = frames * src_pixels * (target.interpolation > 1)
            pixels += frames * target.width * target.height
            need = 3 * (info.num_frames * src_pixels + pixels)
        elif request.mode == "upscale":
            side = max(info.width, info.height) * scale
            if side > MAX_OUTPUT_SIDE:
                raise GenerationError(
                    f"Upscaling {info.width}×{info.height} by ×{scale} would exceed "
                    f"{MAX_OUTPUT_SIDE}px; choose a smaller factor or a smaller clip.",
                    field="scale",
                )
            need = 3 * info.num_frames * src_pixels * (1 + scale**2)
        else:
            need = 3 * info.num_frames * src_pixels * (1 + scale)
        free = memory.available_ram()
        if need > 0.8 * free:
            raise GenerationError(
                f"This needs about {memory.fmt_gb(need)} of memory for {info.num_frames} frames "
                f"at {info.width}×{info.height}; the worker has {memory.fmt_gb(free)} free. "
                "Choose a shorter clip or a smaller factor.",
                field="video_path",
                code="out_of_memory",
            )
