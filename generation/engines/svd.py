"""Stable Video Diffusion: animate one image, no text.

SVD conditions on a CLIP embedding of the image and on three micro-conditions instead of
a prompt: the frame rate, a motion bucket (how much moves) and the noise added to the
image (more noise, less faithful, more motion). Those are request options with the
released model's defaults; a prompt, if given, is ignored and the result says so.
"""

from __future__ import annotations

import math
from typing import Any

from generation.engines.diffusers_base import DiffusersEngine
from generation.spec import Capabilities, GenerationError, GenerationRequest, Progress, VideoResult

I2V = "image_to_video"

DEFAULTS = {
    "decode_chunk_size": 8,
    "motion_bucket_id": 127,
    "noise_aug_strength": 0.02,
    "min_guidance": 1.0,
}


class SVDEngine(DiffusersEngine):
    """Stable Video Diffusion (img2vid, img2vid-xt) through diffusers.

    Request options: `decode_chunk_size` (frames the VAE decodes at once: fewer use less
    memory, more flicker less; default 8), `motion_bucket_id` (0–255, default 127),
    `noise_aug_strength` (0–1, default 0.02) and `min_guidance` (guidance on the first
    frame, rising linearly to `guidance` on the last; default 1.0).
    """

    label = "Stable Video Diffusion"
    capabilities = Capabilities(
        modes=frozenset({I2V}),
        min_size=64,
        max_size=1024,
        size_multiple=64,
        min_frames=2,
        max_frames=25,
        min_fps=3,
        max_fps=30,
        default_fps=7,
        default_steps=25,
        needs_gpu=True,
    )
    pipeline_classes = {I2V: "StableVideoDiffusionPipeline"}
    shared_components = ()
    # SVD-XT: spatio-temporal UNet, CLIP ViT-H image encoder, temporal VAE decoder.
    fallback_params = {"unet": 1.52e9, "image_encoder": 0.63e9, "vae": 0.1e9}
    default_guidance = 3.0
    default_motion_amount = DEFAULTS["motion_bucket_id"]
    """Set on engines that take a motion amount (the `motion_bucket_id` option)."""
    # UNet peak bytes per latent pixel per channel of its first level (320) per dtype
    # byte, both guidance passes included; the VAE decoder's per output pixel.
    unet_factor = 16
    vae_factor = 6

    def activation_bytes(self, request: GenerationRequest) -> int:
        """Peak working memory: max(UNet step, chunked VAE decode) + the output frames.

        The UNet works on all frames at once at 1/8 of the size; the decoder works on
        `decode_chunk_size` frames at full size, which is what the option is for.
        """
        per = 2 if self.dtype_name in ("float16", "bfloat16") else 4
        unet = self.component_config("unet")
        channels = int((unet.get("block_out_channels") or [320])[0])
        latent_px = math.ceil(request.height / 8) * math.ceil(request.width / 8)
        denoise = request.num_frames * latent_px * channels * per * self.unet_factor
        # Checked here too: the memory check runs before the mode's method reads the options.
        chunk = self._micro_conditions(request)["decode_chunk_size"]
        decode = chunk * request.width * request.height * 128 * per * self.vae_factor
        output = request.num_frames * request.width * request.height * 3 * (4 + 4 + 1)
        return max(denoise, decode) + output

    @staticmethod
    def _option(request: GenerationRequest, name: str) -> Any:
        return request.options.get(name, DEFAULTS[name])

    def _micro_conditions(self, request: GenerationRequest) -> dict[str, Any]:
        """Read and check the SVD options, naming the one at fault."""
        try:
            chunk = int(self._option(request, "decode_chunk_size"))
            bucket = int(self._option(request, "motion_bucket_id"))
            noise = float(self._option(request, "noise_aug_strength"))
            min_guidance = float(self._option(request, "min_guidance"))
        except (TypeError, ValueError) as exc:
            raise GenerationError(
                f"An SVD option is not a number: {exc}.", field="options"
            ) from exc
        if chunk < 1:
            raise GenerationError("decode_chunk_size must be at least 1.", field="options")
        if not 0 <= bucket <= 255:
            raise GenerationError("motion_bucket_id must be 0–255.", field="options")
        if not 0.0 <= noise <= 1.0:
            raise GenerationError("noise_aug_strength must be between 0 and 1.", field="options")
        max_guidance = request.guidance if request.guidance is not None else self.default_guidance
        if min_guidance > max_guidance:
            raise GenerationError(
                f"min_guidance {min_guidance:g} is above the guidance {max_guidance:g}.",
                field="guidance",
            )
        return {
            "decode_chunk_size": min(chunk, request.num_frames),
            "motion_bucket_id": bucket,
            "noise_aug_strength": noise,
            "min_guidance_scale": min_guidance,
            "max_guidance_scale": max_guidance,
        }

    def image_to_video(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        from PIL import Image

        from generation.video import load_image

        conditions = self._micro_conditions(request)
        assert request.image_path
        image = Image.fromarray(load_image(request.image_path, request.width, request.height))
        pipe = self.pipeline(I2V)
        frames = self.run(
            pipe,
            request,
            progress,
            image=image,
            height=request.height,
            width=request.width,
            num_frames=request.num_frames,
            # The UNet is conditioned on the playback rate, so the clip moves at `fps`.
            fps=request.fps,
            **conditions,
        )
        result = self.result(
            frames,
            request,
            motion_bucket_id=conditions["motion_bucket_id"],
            noise_aug_strength=conditions["noise_aug_strength"],
        )
        ignored = [
            name
            for name, given in (
                ("prompt", request.prompt.strip()),
                ("negative prompt", request.negative_prompt.strip()),
                ("camera motion", request.camera_motion not in ("", "static")),
            )
            if given
        ]
        if ignored:
            result.notes.append(
                f"{self.label} takes no text or camera direction, so it ignored the "
                f"{' and '.join(ignored)}; the motion comes from the image and the "
                "motion_bucket_id option."
            )
        return result
