"""CogVideoX 1.0 / 1.5: text-, image- and video-to-video.

One engine serves one checkpoint. Which modes it offers follows from that checkpoint,
read from its configs without loading it: a text-to-video checkpoint (`CogVideoXPipeline`)
also restyles videos; an image-to-video checkpoint (`CogVideoXImageToVideoPipeline`) only
animates images. A deployment that wants all three gives the engine an `i2v_model`, which
loads only its own transformer and shares the T5 encoder and VAE with the main checkpoint.

Frame counts are 8k+1, not the 4k+1 the VAE's 4× temporal compression suggests: the
decoder doubles time twice and keeps the first frame only when the latent count is odd,
so k+1 latent frames decode back to 4k+1 frames only for even k (49 → 13 → 49, but
13 → 4 → 16).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from generation.engines.diffusers_base import DiffusersEngine, to_pil
from generation.spec import Capabilities, GenerationError, GenerationRequest, Progress, VideoResult

T2V, I2V, V2V = "text_to_video", "image_to_video", "video_to_video"


class CogVideoXEngine(DiffusersEngine):
    """CogVideoX through diffusers' CogVideoX pipelines.

    Extra config: `i2v_model` (a CogVideoX image-to-video checkpoint used for
    image_to_video next to a text-to-video `model`). Request options: `use_dynamic_cfg`
    (the cosine guidance ramp the 5B models are tuned for; default on when the checkpoint
    uses the DPM scheduler, as the 5B ones do).
    """

    label = "CogVideoX"
    capabilities = Capabilities(
        modes=frozenset({T2V, I2V, V2V}),
        min_size=32,
        max_size=1360,
        size_multiple=16,
        min_frames=9,
        max_frames=161,
        frame_multiple=8,
        frame_offset=1,
        min_fps=4,
        max_fps=30,
        default_fps=8,
        default_steps=50,
        needs_gpu=True,
    )
    pipeline_classes = {
        T2V: "CogVideoXPipeline",
        I2V: "CogVideoXImageToVideoPipeline",
        V2V: "CogVideoXVideoToVideoPipeline",
    }
    # CogVideoX-5B: DiT, T5-v1.1-XXL encoder, causal 3D VAE.
    fallback_params = {"transformer": 5.6e9, "text_encoder": 4.8e9, "vae": 0.22e9}
    hidden_size = 3072
    # The VAE decodes two latent frames (eight video frames) per batch, not one chunk of
    # four, and its widest decoder level has 512 channels before upsampling.
    vae_factor = 24
    default_guidance = 6.0

    # -- what the configured checkpoint can do (config files only) ----------------------

    def _is_i2v(self, model: str | None) -> bool:
        index = self.model_index(model)
        if index.get("_class_name"):
            return index["_class_name"] == self.pipeline_classes[I2V]
        # Not on disk yet (a hub id): the released image-to-video checkpoints say so.
        return "i2v" in (model or "").lower()

    def checkpoint_capabilities(self) -> Capabilities:
        """Narrow the class capabilities to what the configured checkpoint(s) support.

        CogVideoX 1.0 (no temporal patching) is trained for one length, `sample_frames`
        (49 at 8 fps); 1.5 patches time in pairs, runs at 16 fps and goes to 161 frames.
        """
        caps = type(self).capabilities
        if not self.model:
            return caps
        modes = {I2V} if self._is_i2v(self.model) else {T2V, V2V}
        if I2V in self.mode_models:
            modes.add(I2V)
        changes: dict[str, Any] = {"modes": frozenset(modes)}
        tr = self.component_config("transformer")
        # Not on disk yet (a hub id): the released 1.5 checkpoints carry it in their name.
        v15 = bool(tr.get("patch_size_t")) if tr else "1.5" in self.model
        if v15:
            changes["default_fps"] = 16
        else:
            changes["max_frames"] = max(caps.min_frames, int(tr.get("sample_frames") or 49))
        if tr:
            multiple = self.vae_scale_spatial * int(tr.get("patch_size") or 2)
            changes["size_multiple"] = max(caps.size_multiple, multiple)
        return dataclasses.replace(caps, **changes)

    def fixed_i2v_size(self) -> tuple[int, int] | None:
        """The only (width, height) the image-to-video transformer accepts, if it has one.

        CogVideoX-5b-I2V learns its positional embeddings for 720×480, and diffusers
        refuses any other size; checking here gives the user the size before any loading.
        """
        model = self.mode_models.get(I2V) or self.model
        tr = self.component_config("transformer", model)
        if not tr.get("use_learned_positional_embeddings") or tr.get("patch_size_t"):
            return None
        s = self.vae_scale_spatial
        return int(tr.get("sample_width", 90)) * s, int(tr.get("sample_height", 60)) * s

    # -- modes -----------------------------------------------------------------------

    def _common(self, request: GenerationRequest, pipe: Any) -> dict[str, Any]:
        dynamic = request.options.get("use_dynamic_cfg")
        if dynamic is None:
            dynamic = type(pipe.scheduler).__name__ == "CogVideoXDPMScheduler"
        return {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt or None,
            "height": request.height,
            "width": request.width,
            "guidance_scale": (
                request.guidance if request.guidance is not None else self.default_guidance
            ),
            "use_dynamic_cfg": bool(dynamic),
            # The transformer's text positions are sized for exactly this many tokens.
            "max_sequence_length": int(pipe.transformer.config.max_text_seq_length),
        }

    def text_to_video(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        pipe = self.pipeline(T2V)
        frames = self.run(
            pipe, request, progress, num_frames=request.num_frames, **self._common(request, pipe)
        )
        return self.result(frames, request)

    def image_to_video(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        from generation.video import load_image

        fixed = self.fixed_i2v_size()
        if fixed and (request.width, request.height) != fixed:
            raise GenerationError(
                f"This {self.label} image-to-video checkpoint only makes {fixed[0]}×{fixed[1]} "
                f"videos; {request.width}×{request.height} was requested.",
                field="width" if request.width != fixed[0] else "height",
            )
        assert request.image_path
        image = to_pil(load_image(request.image_path, request.width, request.height))
        pipe = self.pipeline(I2V)
        frames = self.run(
            pipe,
            request,
            progress,
            image=image,
            num_frames=request.num_frames,
            **self._common(request, pipe),
        )
        return self.result(frames, request)

    def video_to_video(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        return self.restyle(request, progress, lambda pipe: self._common(request, pipe))
