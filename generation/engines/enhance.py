"""Enhance engine: frame interpolation and upscaling of an existing clip, CPU only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from generation import memory
from generation.enhance import DEFAULT_INTERPOLATION, INTERPOLATION_FACTORS, UPSCALE_FACTORS
from generation.spec import (
    Capabilities,
    GenerationError,
    GenerationRequest,
    Progress,
    VideoResult,
)

if TYPE_CHECKING:
    from generation.video import VideoInfo

MAX_OUTPUT_SIDE = 3840
"""Upscaled frames larger than 4K UHD would exhaust a worker's memory for a whole clip."""


class EnhanceEngine:
    """Make a clip smoother (interpolate ×2–×4) or larger (upscale ×2/×4), keeping duration."""

    def __init__(
        self,
        engine_id: str = "enhance",
        interpolation: str = DEFAULT_INTERPOLATION,
        upscaler: str = "auto",
        rife_weights: str | None = None,
        **_: Any,
    ):
        self.id = engine_id
        self.label = "Enhance (frame interpolation, upscaling)"
        self.interpolation = interpolation
        self.upscaler = upscaler
        self.rife_weights = rife_weights
        self.capabilities = Capabilities(
            modes=frozenset({"interpolate", "upscale"}),
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
        self._check_fits(probe(path), request)
        frames, info = read_video(path)
        src_fps = info.fps or float(request.fps)
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
        model = str(request.options.get("upscale_model", "general"))
        backend = str(request.options.get("upscaler", self.upscaler))
        out, used = enhance.upscale_with_info(
            frames, scale, model=model, backend=backend, progress=progress
        )
        return VideoResult(
            out,
            src_fps,
            notes=[used.note],
            info={"backend": used.backend, "model": used.model},
        )

    def _check_fits(self, info: VideoInfo, request: GenerationRequest) -> None:
        """Refuse before decoding: the whole clip and its result are held in memory at once."""
        scale = request.scale
        if request.mode == "upscale":
            side = max(info.width, info.height) * scale
            if side > MAX_OUTPUT_SIDE:
                raise GenerationError(
                    f"Upscaling {info.width}×{info.height} by ×{scale} would exceed "
                    f"{MAX_OUTPUT_SIDE}px; choose a smaller factor or a smaller clip.",
                    field="scale",
                )
            out_frames, out_pixels = info.num_frames, info.width * info.height * scale**2
        else:
            out_frames, out_pixels = info.num_frames * scale, info.width * info.height
        need = 3 * (info.num_frames * info.width * info.height + out_frames * out_pixels)
        free = memory.available_ram()
        if need > 0.8 * free:
            raise GenerationError(
                f"This needs about {memory.fmt_gb(need)} of memory for {info.num_frames} frames "
                f"at {info.width}×{info.height}; the worker has {memory.fmt_gb(free)} free. "
                "Choose a shorter clip or a smaller factor.",
                field="video_path",
                code="out_of_memory",
            )
