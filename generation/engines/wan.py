"""Wan 2.x: text-, image- (first or first+last frame) and video-to-video.

One engine serves one checkpoint. Which modes it offers follows from that checkpoint,
read from its configs without loading it: a text-to-video checkpoint (`WanPipeline`)
also restyles videos and, for Wan 2.2 TI2V, animates images; an image-to-video
checkpoint (`WanImageToVideoPipeline`) only animates images. A deployment that wants
both gives the engine an `i2v_model`, which loads only its own transformer and image
encoder and shares the text encoder and VAE with the main checkpoint.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from generation.engines.diffusers_base import DiffusersEngine, to_pil
from generation.spec import Capabilities, GenerationError, GenerationRequest, Progress, VideoResult

T2V, I2V, V2V = "text_to_video", "image_to_video", "video_to_video"


class WanEngine(DiffusersEngine):
    """Wan 2.1 / 2.2 through diffusers' Wan pipelines.

    Extra config: `i2v_model` (a Wan image-to-video checkpoint used for image_to_video
    next to a text-to-video `model`), `max_sequence_length` (prompt tokens, default 512).
    """

    label = "Wan 2.x"
    capabilities = Capabilities(
        modes=frozenset({T2V, I2V, V2V}),
        min_size=16,
        max_size=1280,
        size_multiple=16,
        min_frames=5,
        max_frames=81,
        frame_multiple=4,
        frame_offset=1,
        default_fps=16,
        default_steps=30,
    )
    pipeline_classes = {
        T2V: "WanPipeline",
        I2V: "WanImageToVideoPipeline",
        V2V: "WanVideoToVideoPipeline",
    }
    # Wan 2.1 14B: DiT, umt5-xxl encoder, causal 3D VAE, open-clip ViT-H (I2V only).
    fallback_params = {
        "transformer": 14.3e9,
        "text_encoder": 5.7e9,
        "vae": 0.13e9,
        "image_encoder": 0.63e9,
    }
    hidden_size = 5120
    vae_channels = 96
    default_guidance = 5.0

    # -- what the configured checkpoint can do (config files only) ----------------------

    def checkpoint_capabilities(self) -> Capabilities:
        """Narrow the class capabilities to what the configured checkpoint(s) support."""
        caps = type(self).capabilities
        index = self.model_index()
        kind = index.get("_class_name")
        if not kind:
            return caps
        if kind == "WanImageToVideoPipeline":
            modes = {I2V}
        else:
            modes = {T2V, V2V}
            if index.get("expand_timesteps"):
                modes.add(I2V)
        if I2V in self.mode_models:
            modes.add(I2V)
        vae = self.component_config("vae")
        tr = self.component_config("transformer")
        patch = tr.get("patch_size") or self.patch_size
        multiple = int(vae.get("scale_factor_spatial") or self.vae_scale_spatial) * int(patch[-1])
        return dataclasses.replace(
            caps,
            modes=frozenset(modes),
            # Wan 2.2 TI2V is trained on 121 frames (5 s at 24 fps); Wan 2.1 on 81.
            max_frames=121 if index.get("expand_timesteps") else caps.max_frames,
            size_multiple=max(caps.size_multiple, multiple),
            min_size=max(caps.min_size, multiple),
        )

    def last_frame_rule(self) -> str:
        """How the image-to-video checkpoint treats a last frame: optional, required or no.

        Wan 2.1 I2V embeds one CLIP image; the FLF2V checkpoint's image position table
        (`pos_embed_seq_len`) needs exactly two; Wan 2.2 (no CLIP) takes either, except
        TI2V (`expand_timesteps`) which conditions on the first latent frame only.
        """
        model = self.mode_models.get(I2V) or self.model
        index = self.model_index(model)
        tr = self.component_config("transformer", model)
        if index.get("expand_timesteps"):
            return "no"
        if tr.get("pos_embed_seq_len"):
            return "required"
        if tr.get("image_dim"):
            return "no"
        return "optional"

    # -- modes -----------------------------------------------------------------------

    def _common(self, request: GenerationRequest) -> dict[str, Any]:
        return {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt or None,
            "height": request.height,
            "width": request.width,
            "guidance_scale": (
                request.guidance if request.guidance is not None else self.default_guidance
            ),
            "max_sequence_length": int(self.options.get("max_sequence_length", 512)),
        }

    def text_to_video(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        pipe = self.pipeline(T2V)
        frames = self.run(
            pipe, request, progress, num_frames=request.num_frames, **self._common(request)
        )
        return self.result(frames, request)

    def image_to_video(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        from generation.video import load_image

        rule = self.last_frame_rule()
        if request.last_image_path and rule == "no":
            raise GenerationError(
                f"This {self.label} checkpoint animates from a first frame only; configure a "
                "first+last-frame (FLF2V) or Wan 2.2 I2V checkpoint to set a last frame.",
                field="last_image_path",
            )
        if not request.last_image_path and rule == "required":
            raise GenerationError(
                f"This {self.label} checkpoint is a first+last-frame model; add a last frame.",
                field="last_image_path",
            )
        assert request.image_path
        kwargs = self._common(request)
        kwargs["image"] = to_pil(load_image(request.image_path, request.width, request.height))
        if request.last_image_path:
            last = load_image(request.last_image_path, request.width, request.height)
            kwargs["last_image"] = to_pil(last)
        pipe = self.pipeline(I2V)
        frames = self.run(pipe, request, progress, num_frames=request.num_frames, **kwargs)
        return self.result(frames, request, last_frame=bool(request.last_image_path))

    def video_to_video(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        return self.restyle(request, progress, lambda pipe: self._common(request))
