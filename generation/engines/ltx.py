"""LTX-Video: text to video, image to video, and extending a clip forward or backward.

Extension uses `LTXConditionPipeline` (written for LTX 0.9.5+, and it runs any LTX
checkpoint): the new segment is generated conditioned on `overlap` frames of the source
clip, placed where they belong in time, then joined to the source with a crossfade over
those frames.

- Forward: the source's last `overlap` frames sit at frame 0 of the new segment (they are
  hard-conditioned: the model continues from them). The result is the source followed by
  the new frames, the seam faded from source into generation.
- Backward: the source's first `overlap` frames sit at the end of the new segment (LTX
  treats a multi-frame condition away from frame 0 as extra tokens with their timing).
  The result is the new frames followed by the source.

In both directions the result has `len(source) + request.num_frames` frames, plays at the
source's fps, and every source frame outside the overlap is kept untouched. The segment
actually generated is `overlap + num_frames` frames rounded up to 8k+1; the surplus (at
most 7 frames, far from the seam) is dropped.

`options["overlap"]` sets the overlap; it must be 8k+1 frames (1, 9, 17, ...) because a
multi-frame condition goes through the VAE, which packs 8 frames per latent after the
first. The default is 9 frames (two latent frames: enough motion for the model to carry on
smoothly, little enough that the crossfade stays short), or 1 when the source has 9 frames
or fewer, so that some of it stays untouched.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from generation.engines.diffusers_base import DiffusersEngine, cover_frames, to_pil
from generation.spec import Capabilities, GenerationError, GenerationRequest, Progress, VideoResult

T2V, I2V = "text_to_video", "image_to_video"
FORWARD, BACKWARD = "extend_forward", "extend_backward"

DEFAULT_OVERLAP = 9
LATENT_FRAMES = 8
"""Frames per latent frame after the first (the VAE's temporal compression)."""


def ceil_8k1(n: int) -> int:
    """Return the smallest 8k+1 frame count that is at least `n`."""
    return math.ceil(max(n - 1, 0) / LATENT_FRAMES) * LATENT_FRAMES + 1


def choose_overlap(options: Any, source_frames: int) -> int:
    """Return the overlap for a source of `source_frames` frames (see the module doc)."""
    value = options.get("overlap") if options else None
    if value is None:
        # Leave at least one source frame outside the crossfade, untouched.
        return DEFAULT_OVERLAP if source_frames > DEFAULT_OVERLAP else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (value - 1) % 8:
        raise GenerationError(
            f"The overlap must be 8k+1 frames (1, 9, 17, ...), got {value!r}.", field="options"
        )
    if value > source_frames:
        raise GenerationError(
            f"The overlap ({value} frames) is longer than the source clip ({source_frames} "
            "frames); choose a smaller overlap or a longer clip.",
            field="options",
        )
    return value


class LTXEngine(DiffusersEngine):
    """LTX-Video through diffusers' LTX pipelines (one checkpoint serves every mode).

    Extra config: `max_sequence_length` (prompt tokens, default 128), `decode_timestep`
    and `decode_noise_scale` (for VAEs with timestep conditioning, LTX 0.9.1+; defaults
    0.05 and 0.025 as Lightricks recommends), `image_cond_noise_scale` (noise on
    hard-conditioned frames during extension, default 0.15).
    """

    label = "LTX-Video"
    capabilities = Capabilities(
        modes=frozenset({T2V, I2V, FORWARD, BACKWARD}),
        min_size=32,
        max_size=1280,
        size_multiple=32,
        min_frames=9,
        max_frames=257,
        frame_multiple=8,
        frame_offset=1,
        default_fps=24,
        needs_gpu=True,
        default_steps=40,
    )
    pipeline_classes = {
        T2V: "LTXPipeline",
        I2V: "LTXImageToVideoPipeline",
        FORWARD: "LTXConditionPipeline",
        BACKWARD: "LTXConditionPipeline",
    }
    default_overlap = DEFAULT_OVERLAP
    default_guidance = 3.0
    fallback_params = {"transformer": 2e9, "text_encoder": 4.8e9, "vae": 4e8}
    vae_scale_spatial = 32
    vae_scale_temporal = 8
    patch_size = (1, 1, 1)
    hidden_size = 2048

    def latent_tokens(self, request: GenerationRequest) -> int:
        """Count tokens with the VAE's real compression (LTX configs do not name it)."""
        vae = self.component_config("vae")
        scaling = vae.get("spatio_temporal_scaling")
        if scaling:
            spatial = int(vae.get("patch_size") or 1) * 2 ** sum(bool(s) for s in scaling)
            temporal = int(vae.get("patch_size_t") or 1) * 2 ** sum(bool(s) for s in scaling)
        else:
            spatial, temporal = self.vae_scale_spatial, self.vae_scale_temporal
        frames = (request.num_frames - 1) // temporal + 1
        return frames * math.ceil(request.height / spatial) * math.ceil(request.width / spatial)

    def memory_request(self, request: GenerationRequest) -> GenerationRequest:
        """Count an extension at the length of the segment it generates, not just the new part."""
        if request.mode in (FORWARD, BACKWARD):
            overlap = request.options.get("overlap") or DEFAULT_OVERLAP
            if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 1:
                # Not a frame count: `choose_overlap` refuses it with a message; estimate
                # with the default until then rather than crash here.
                overlap = DEFAULT_OVERLAP
            request = request.replace(num_frames=ceil_8k1(overlap + request.num_frames))
        return request

    # -- pipeline calls -------------------------------------------------------------------

    def _common(self, pipe: Any, request: GenerationRequest, num_frames: int, fps: float) -> dict:
        kwargs: dict[str, Any] = {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt or None,
            "width": request.width,
            "height": request.height,
            "num_frames": num_frames,
            "frame_rate": fps,
            "guidance_scale": (
                self.default_guidance if request.guidance is None else request.guidance
            ),
            "max_sequence_length": int(self.options.get("max_sequence_length", 128)),
        }
        if getattr(pipe.vae.config, "timestep_conditioning", False):
            kwargs["decode_timestep"] = float(self.options.get("decode_timestep", 0.05))
            kwargs["decode_noise_scale"] = float(self.options.get("decode_noise_scale", 0.025))
        return kwargs

    def text_to_video(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        pipe = self.pipeline(T2V)
        kwargs = self._common(pipe, request, request.num_frames, request.fps)
        return self.result(self.run(pipe, request, progress, **kwargs), request)

    def image_to_video(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        from generation.video import load_image

        assert request.image_path
        image = load_image(request.image_path, request.width, request.height)
        pipe = self.pipeline(I2V)
        kwargs = self._common(pipe, request, request.num_frames, request.fps)
        return self.result(
            self.run(pipe, request, progress, image=to_pil(image), **kwargs), request
        )

    def extend_forward(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        return self._extend_file(request, progress)

    def extend_backward(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        return self._extend_file(request, progress)

    def _extend_file(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        from generation.video import read_video

        assert request.video_path
        frames, info = read_video(request.video_path)
        return self._extend(request, progress, frames, info.fps)

    def extend_frames(
        self, request: GenerationRequest, progress: Progress, frames: np.ndarray, fps: float
    ) -> VideoResult:
        """Extend frames held in memory, with no MP4 round trip (`generation.longvideo`).

        Checked like `generate`; the placeholder path only satisfies the rule that an
        extension has a source, which here is `frames`.
        """
        self.prepare(request.replace(video_path=request.video_path or "<frames>"))
        with self.job(request):
            return self._extend(request, progress, frames, fps)

    def _extend(
        self, request: GenerationRequest, progress: Progress, source: np.ndarray, fps: float
    ) -> VideoResult:
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        from generation.video import crossfade_concat

        if not fps or fps <= 0:
            raise GenerationError("The source clip has no frame rate.", field="video_path")
        source = cover_frames(source, request.width, request.height)
        overlap = choose_overlap(request.options, len(source))
        wanted = overlap + request.num_frames
        segment = ceil_8k1(wanted)
        surplus = segment - wanted
        forward = request.mode == FORWARD
        if forward:
            condition = LTXVideoCondition(
                video=[to_pil(f) for f in source[len(source) - overlap :]], frame_index=0
            )
        else:
            condition = LTXVideoCondition(
                video=[to_pil(f) for f in source[:overlap]], frame_index=segment - overlap
            )
        pipe = self.pipeline(request.mode)
        kwargs = self._common(pipe, request, segment, fps)
        kwargs["image_cond_noise_scale"] = float(self.options.get("image_cond_noise_scale", 0.15))
        generated = self.run(pipe, request, progress, conditions=[condition], **kwargs)
        if forward:
            frames = crossfade_concat(source, generated[:wanted], overlap)
        else:
            frames = crossfade_concat(generated[surplus:], source, overlap)
        result = self.result(
            frames,
            request,
            overlap=overlap,
            generated_frames=segment,
            source_frames=len(source),
        )
        result.fps = fps
        if fps != request.fps:
            result.notes.append(
                f"Kept the source clip's {fps:g} fps (the request said {request.fps})."
            )
        return result
