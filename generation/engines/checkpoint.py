"""What a diffusers engine knows from its checkpoint's files, without torch or weights.

`CheckpointEngine` holds an engine's settings and reads its checkpoint(s): the model
index and component configs (which modes and sizes the checkpoint supports), parameter
counts from safetensors headers, and from those the memory a request needs at its peak,
so a job that cannot fit is refused before anything is loaded. Running lives in
`diffusers_base.DiffusersEngine`, which subclasses this.

The web process builds engines to read their capabilities, so nothing here imports torch
unless a device must be resolved.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from generation import memory
from generation.cache import PipelineCache, auto_vae_tiling, pool_of
from generation.spec import Capabilities, GenerationError, GenerationRequest, OutOfMemory


class CheckpointEngine:
    """Settings, checkpoint inspection and the memory estimate of a diffusers engine.

    Subclass hooks: `capabilities` and `checkpoint_capabilities()` (narrow the class's
    capabilities to the configured checkpoint), `fallback_params` (parameters per
    component, used when the checkpoint cannot be inspected), the geometry and activation
    constants below, or `latent_tokens`/`activation_bytes`/`memory_request` outright.

    Config keys (the Registry passes them as keyword arguments): `model` (a local
    directory or a hub id), `device` ("auto" | "cpu" | "cuda[:n]"; auto is the worker's),
    `dtype` ("auto" | "float32" | "bfloat16" | "float16"), `offload` ("auto" | "none" |
    "model" | "group" | "sequential"; auto lets the worker's cache choose from the
    budget), `vae_tiling` (None: on for GPUs), `vae_slicing`, `attention_backend` (a
    diffusers backend name such as "flash" or "_native_cudnn"), `step_cache` (First Block
    Cache threshold, e.g. 0.05), `compile` (regional `torch.compile` of the repeated
    blocks), `local_files_only`, `max_memory_gb` (this engine's cap within the worker's
    budget) and `mode_models` (mode -> another checkpoint for that mode, sharing
    `shared_components` with the main one; `i2v_model` is the image-to-video case).
    `cache` is the worker's `PipelineCache`. Unknown keys are kept in `self.options`.
    """

    label: str = "Diffusers"
    capabilities: Capabilities = Capabilities(modes=frozenset({"text_to_video"}))
    # Components a per-mode checkpoint reuses from the main one instead of loading again.
    shared_components: tuple[str, ...] = ("text_encoder", "tokenizer", "vae")
    # Parameter counts per component when the checkpoint cannot be read without loading.
    fallback_params: dict[str, float] = {"transformer": 2e9, "text_encoder": 5e9, "vae": 2e8}
    # Geometry used to turn a request into latent tokens, when configs do not say.
    vae_scale_spatial: int = 8
    vae_scale_temporal: int = 4
    patch_size: tuple[int, int, int] = (1, 2, 2)
    hidden_size: int = 3072
    vae_channels: int = 128
    # Peak activation bytes per latent token per hidden unit per dtype byte: attention,
    # feed-forward intermediates and the classifier-free-guidance second pass.
    activation_factor: int = 16
    # Peak VAE decode bytes per output pixel per feature channel per dtype byte.
    vae_factor: int = 12

    def __init__(
        self,
        *,
        engine_id: str,
        model: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        offload: str = "auto",
        vae_tiling: bool | None = None,
        vae_slicing: bool = False,
        attention_backend: str | None = None,
        step_cache: float | None = None,
        compile: bool = False,
        local_files_only: bool | None = None,
        max_memory_gb: float | None = None,
        mode_models: dict[str, str] | None = None,
        i2v_model: str | None = None,
        cache: PipelineCache | None = None,
        **extra: Any,
    ):
        if offload not in memory.OFFLOAD_MODES:
            raise GenerationError(
                f"Engine {engine_id}: offload must be one of {', '.join(memory.OFFLOAD_MODES)}; "
                f"got {offload!r}.",
                field="offload",
            )
        if dtype != "auto" and dtype not in memory.DTYPE_BYTES:
            raise GenerationError(
                f"Engine {engine_id}: dtype must be auto or one of "
                f"{', '.join(memory.DTYPE_BYTES)}; got {dtype!r}.",
                field="dtype",
            )
        self.id = engine_id
        # `require_model` accepts "~/..." paths, so every later use must see them expanded.
        self.model = os.path.expanduser(str(model)) if model else None
        self._device_setting = device
        self._dtype_setting = dtype
        self.offload = offload
        self._vae_tiling_setting = vae_tiling
        self.vae_slicing = vae_slicing
        self.attention_backend = attention_backend
        self.step_cache = step_cache
        self.compile = compile
        self.max_memory_gb = max_memory_gb
        mode_models = dict(mode_models or {})
        if i2v_model:  # the common case of `mode_models`: a separate image-to-video checkpoint
            mode_models["image_to_video"] = str(i2v_model)
        self.mode_models = {m: os.path.expanduser(str(p)) for m, p in mode_models.items()}
        self.options = extra
        if local_files_only is None:
            local_files_only = bool(
                (self.model and os.path.isdir(self.model)) or os.environ.get("HF_HUB_OFFLINE")
            )
        self.local_files_only = local_files_only
        # An engine built on its own (a script, a test) gets a cache of its own.
        self.cache = cache if cache is not None else PipelineCache()
        self._param_counts: dict[str, dict[str, int]] = {}
        self.capabilities = self.checkpoint_capabilities()

    def checkpoint_capabilities(self) -> Capabilities:
        """Narrow the class capabilities to what the configured checkpoint(s) support.

        Read config files only (no weights, no torch); the default keeps the class's.
        """
        return type(self).capabilities

    # -- device and dtype --------------------------------------------------------------

    @property
    def device(self) -> str:
        """The torch device name; "auto" is the worker's (cuda when a GPU is visible)."""
        if self._device_setting != "auto":
            return self._device_setting
        return self.cache.device

    @property
    def dtype_name(self) -> str:
        """bfloat16 on GPUs (what the checkpoints are trained in), float32 on CPU."""
        if self._dtype_setting != "auto":
            return self._dtype_setting
        return "float32" if self.device == "cpu" else "bfloat16"

    @property
    def vae_tiling(self) -> bool:
        """The setting, else on for GPUs and off on the CPU."""
        if self._vae_tiling_setting is not None:
            return self._vae_tiling_setting
        return auto_vae_tiling(self.device)

    # -- checkpoint inspection ------------------------------------------------------------

    def model_dir(self, model: str | None = None) -> Path | None:
        """A local directory for `model`: itself, or its hub cache snapshot if present."""
        model = model or self.model
        if not model:
            return None
        if os.path.isdir(model):
            return Path(model)
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(model, local_files_only=True))
        except Exception:  # noqa: BLE001 - any failure means "not in the cache"
            return None

    def component_config(self, name: str, model: str | None = None) -> dict:
        """A component's config.json (e.g. "transformer"), or {} when unavailable."""
        root = self.model_dir(model)
        return memory.read_json(root / name / "config.json") if root else {}

    def model_index(self, model: str | None = None) -> dict:
        root = self.model_dir(model)
        return memory.read_json(root / "model_index.json") if root else {}

    def param_counts(self, model: str | None = None) -> dict[str, int]:
        """Parameters per component, from safetensors headers, else `fallback_params`."""
        key = model or self.model or ""
        if key not in self._param_counts:
            root = self.model_dir(model)
            counts = memory.component_param_counts(root) if root else {}
            if not counts:
                counts = {k: int(v) for k, v in self.fallback_params.items()}
            self._param_counts[key] = counts
        return self._param_counts[key]

    def component_bytes(self, model: str | None = None, *, skip: tuple[str, ...] = ()) -> dict:
        """Bytes per component of `model`'s weights in the engine's dtype."""
        per_param = memory.DTYPE_BYTES.get(self.dtype_name, 4)
        return {k: n * per_param for k, n in self.param_counts(model).items() if k not in skip}

    def mode_weights(self, mode: str) -> dict[str, int]:
        """Bytes per component of every pipeline a `mode` job uses."""
        weights = self.component_bytes()
        extra_model = self.mode_models.get(mode)
        if extra_model:
            weights.update(self.component_bytes(extra_model, skip=self.shared_components))
        return weights

    # -- memory estimate ----------------------------------------------------------------

    def weight_bytes(self, mode: str, offload: str | None = None) -> int:
        """Bytes of weights on the execution device at the peak of a `mode` job.

        With model offload only the largest component sits on the GPU at a time; with
        group or sequential offload about one layer does. On CPU everything is in RAM.
        `offload` defaults to the setting (auto counts as none).
        """
        return memory.device_weight_bytes(
            self.mode_weights(mode), offload or self.offload, self.device
        )

    def latent_tokens(self, request: GenerationRequest) -> int:
        """Tokens the denoiser attends over for this request's size and length."""
        vae = self.component_config("vae")
        tr = self.component_config("transformer")
        sf = int(vae.get("scale_factor_spatial") or self.vae_scale_spatial)
        tf = int(vae.get("scale_factor_temporal") or self.vae_scale_temporal)
        patch = tr.get("patch_size") or self.patch_size
        if isinstance(patch, int):
            patch = (1, patch, patch)
        pt, ph, pw = (int(p) for p in patch)
        frames = math.ceil(((request.num_frames - 1) // tf + 1) / pt)
        return frames * math.ceil(request.height / sf / ph) * math.ceil(request.width / sf / pw)

    def activation_bytes(self, request: GenerationRequest) -> int:
        """Peak working memory besides the weights: max(denoiser, VAE decode) + output.

        A heuristic calibrated to be on the safe side; subclasses with a different shape
        (a UNet, a VAE that decodes all frames at once) override it.
        """
        tr = self.component_config("transformer")
        vae = self.component_config("vae")
        hidden = (tr.get("num_attention_heads") or 0) * (tr.get("attention_head_dim") or 0)
        hidden = hidden or self.hidden_size
        channels = int(vae.get("base_dim") or self.vae_channels)
        per = memory.DTYPE_BYTES.get(self.dtype_name, 4)
        denoise = self.latent_tokens(request) * hidden * per * self.activation_factor
        pixels = request.width * request.height
        if self.vae_tiling:
            pixels = min(pixels, 512 * 512)
        chunk = int(vae.get("scale_factor_temporal") or self.vae_scale_temporal)
        decode = chunk * pixels * channels * per * self.vae_factor
        output = request.num_frames * request.width * request.height * 3 * (4 + 4 + 1)
        return max(denoise, decode) + output

    def memory_request(self, request: GenerationRequest) -> GenerationRequest:
        """The request as the pipeline will actually run it (an extension runs longer)."""
        return request

    def working_bytes(self, request: GenerationRequest) -> int:
        """Activation bytes of the job `request` starts."""
        return self.activation_bytes(self.memory_request(request))

    def offload_for(self, request: GenerationRequest) -> str:
        """The offload strategy the worker's cache will run `request` with."""
        return self.cache.choose_offload(
            self.device,
            self.mode_weights(request.mode),
            self.working_bytes(request),
            offload=self.offload,
            cap=self._cap(),
        )

    def estimate_memory(self, request: GenerationRequest) -> int:
        """Peak bytes on the execution device for `request` (weights + activations)."""
        offload = self.offload_for(request)
        return self.weight_bytes(request.mode, offload) + self.working_bytes(request)

    def _cap(self) -> int | None:
        return None if self.max_memory_gb is None else int(self.max_memory_gb * memory.GIB)

    def memory_budget(self) -> tuple[int, str]:
        """Bytes one job of this engine may use at its peak, and how to name that limit.

        The worker's budget on the engine's device (the cache unloads other pipelines to
        make this room), or the engine's own `max_memory_gb` when lower.
        """
        device = self.device
        budget = self.cache.budget(device)
        cap = self._cap()
        if cap is not None and cap <= budget:
            return cap, f"the {self.max_memory_gb:g} GB limit"
        where = "RAM" if pool_of(device) == "cpu" else f"the GPU ({device})"
        return budget, f"the worker's memory budget on {where}"

    def check_memory(self, request: GenerationRequest) -> None:
        """Refuse, before loading anything, a request the device cannot fit.

        The message names the largest size (same frame count) and the longest clip (same
        size) that would fit, so the user can act on it.
        """
        budget, where = self.memory_budget()
        need = self.estimate_memory(request)
        if need <= budget:
            return
        caps = self.capabilities
        hints = []
        frames = self._longest_fitting(request, budget)
        if frames:
            hints.append(f"{request.width}×{request.height} fits up to {frames} frames")
        size = self._largest_fitting(request, budget)
        if size:
            hints.append(f"{size[0]}×{size[1]} fits at {request.num_frames} frames")
        if hints:
            advice = "; ".join(hints) + "."
        else:
            smallest = request.replace(
                width=caps.min_size, height=caps.min_size, num_frames=caps.round_frames(1)
            )
            advice = (
                f"No size fits: even {caps.min_size}×{caps.min_size} needs "
                f"{memory.fmt_gb(self.estimate_memory(smallest))}."
            )
        if self.device != "cpu" and self.offload in ("none", "model"):
            advice += " Setting the engine's offload to auto or group lowers the weights' share."
        raise OutOfMemory(
            f"{self.label} needs about {memory.fmt_gb(need)} for {request.width}×"
            f"{request.height}, {request.num_frames} frames, more than {where} "
            f"({memory.fmt_gb(budget)}). {advice}",
            field="num_frames" if frames else None,
        )

    def _longest_fitting(self, request: GenerationRequest, budget: int) -> int | None:
        caps = self.capabilities
        n = caps.round_frames(request.num_frames)
        step = max(1, caps.frame_multiple)
        while n >= caps.min_frames and caps.frames_ok(n):
            if (
                n < request.num_frames
                and self.estimate_memory(request.replace(num_frames=n)) <= budget
            ):
                return n
            n -= step
        return None

    def _largest_fitting(self, request: GenerationRequest, budget: int) -> tuple[int, int] | None:
        caps = self.capabilities
        m = caps.size_multiple
        for pct in range(95, 0, -5):
            w = int(request.width * pct / 100) // m * m
            h = int(request.height * pct / 100) // m * m
            if w < caps.min_size or h < caps.min_size:
                return None
            if self.estimate_memory(request.replace(width=w, height=h)) <= budget:
                return w, h
        return None

    # -- before running -----------------------------------------------------------------

    def require_model(self) -> str:
        if not self.model:
            raise GenerationError(
                f"Engine {self.id} ({self.label}) has no model configured; set "
                "STUDIO_MODELS_DIR to a directory holding the checkpoint or give the engine "
                "a `model` (local directory or hub id).",
                field="engine",
            )
        # A hub id is "org/name"; anything else that is not a directory is a typo'd path.
        looks_like_path = self.model.startswith(("/", ".", "~")) or self.model.count("/") > 1
        if looks_like_path and not os.path.isdir(os.path.expanduser(self.model)):
            raise GenerationError(
                f"Engine {self.id} ({self.label}): the model directory {self.model} does not "
                "exist; check STUDIO_MODELS_DIR or the engine's `model`.",
                field="engine",
            )
        return self.model

    def prepare(self, request: GenerationRequest) -> None:
        """What every run checks first: the request, the weights, the memory it needs."""
        self.capabilities.validate(request, engine_label=self.label)
        self.require_model()
        self.check_memory(request)
