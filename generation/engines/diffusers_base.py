"""Shared machinery for engines backed by diffusers pipelines.

A family engine (Wan, LTX, CogVideoX, SVD) subclasses `DiffusersEngine`, names its
pipeline class per mode in `pipeline_classes` and implements one method per mode that
builds the pipeline call and hands it to `run`. The base class owns what every family
needs the same way: loading once and keeping warm, sharing components between modes,
device placement and memory strategies, seeding, progress and cancel, out-of-memory
translation and the refuse-before-loading memory check.

torch and diffusers are imported inside methods so that importing an engine module (the
web process does, to read capabilities) stays cheap.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from generation import memory
from generation.spec import (
    Cancelled,
    Capabilities,
    GenerationError,
    GenerationRequest,
    OutOfMemory,
    Progress,
    VideoResult,
    check_cancel,
)

OFFLOAD_MODES = ("none", "model", "sequential", "group")


def to_pil(frame: np.ndarray) -> Any:
    """Wrap one uint8 RGB frame as the PIL image diffusers pipelines take as input."""
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(frame), "RGB")


def cover_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale and centre-crop (T, H, W, 3) frames to exactly width×height, undistorted."""
    from PIL import Image, ImageOps

    if frames.shape[2] == width and frames.shape[1] == height:
        return frames
    return np.stack(
        [
            np.asarray(
                ImageOps.fit(to_pil(f), (width, height), method=Image.Resampling.LANCZOS),
                dtype=np.uint8,
            )
            for f in frames
        ]
    )


def frames_to_uint8(frames: Any) -> np.ndarray:
    """Turn a pipeline's float frames in [0, 1] (T, H, W, 3) into uint8 frames."""
    arr = np.asarray(frames, dtype=np.float32)
    return (np.clip(arr, 0.0, 1.0) * 255.0).round().astype(np.uint8)


class DiffusersEngine:
    """Base class for engines that run diffusers pipelines.

    Subclass contract:

    - `label`, `capabilities`: as in `generation.spec.Engine`.
    - `pipeline_classes`: mode -> diffusers pipeline class name, e.g.
      `{"text_to_video": "WanPipeline"}`. The checkpoint is loaded once (its own class,
      from `model_index.json`); other modes reuse its components via `from_pipe`.
    - one method per mode, named like the mode (`text_to_video(request, progress)`),
      returning a `VideoResult`; typically `self.result(self.run(self.pipeline(mode),
      request, progress, prompt=..., ...), request)`.
    - optionally `fallback_params` (parameters per component, used when the checkpoint
      cannot be inspected) and the activation constants below, or override
      `activation_bytes(request)` outright.

    Config keys (the Registry passes them as keyword arguments): `model` (a local
    directory or a hub id), `device` ("auto" | "cpu" | "cuda[:n]"), `dtype` ("auto" |
    "float32" | "bfloat16" | "float16"), `offload` ("none" | "model" | "sequential" |
    "group"), `vae_tiling`, `vae_slicing`, `attention_backend` (a diffusers backend name
    such as "flash" or "_native_cudnn"), `step_cache` (First Block Cache threshold, e.g.
    0.05), `compile` (regional `torch.compile` of the repeated blocks),
    `local_files_only`, `max_memory_gb` (a budget below the device's memory) and
    `mode_models` (mode -> another checkpoint for that mode, sharing
    `shared_components` with the main one). Unknown keys are kept in `self.options`.
    """

    label: str = "Diffusers"
    capabilities: Capabilities = Capabilities(modes=frozenset({"text_to_video"}))
    pipeline_classes: dict[str, str] = {}
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
        offload: str = "none",
        vae_tiling: bool = False,
        vae_slicing: bool = False,
        attention_backend: str | None = None,
        step_cache: float | None = None,
        compile: bool = False,
        local_files_only: bool | None = None,
        max_memory_gb: float | None = None,
        mode_models: dict[str, str] | None = None,
        i2v_model: str | None = None,
        **extra: Any,
    ):
        if offload not in OFFLOAD_MODES:
            raise GenerationError(
                f"Engine {engine_id}: offload must be one of {', '.join(OFFLOAD_MODES)}; "
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
        self.vae_tiling = vae_tiling
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
        self.load_count = 0
        self._base: Any = None
        self._pipes: dict[str, Any] = {}
        self._placed: Any = None
        self._group_offloaded: set[int] = set()
        self._param_counts: dict[str, dict[str, int]] = {}
        self._lock = threading.RLock()
        self.capabilities = self.checkpoint_capabilities()

    def checkpoint_capabilities(self) -> Capabilities:
        """Narrow the class capabilities to what the configured checkpoint(s) support.

        Read config files only (no weights, no torch); the default keeps the class's.
        """
        return type(self).capabilities

    # -- device and dtype --------------------------------------------------------------

    @property
    def device(self) -> str:
        """The torch device name; "auto" is cuda when a GPU is visible, else cpu."""
        if self._device_setting != "auto":
            return self._device_setting
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    @property
    def dtype_name(self) -> str:
        """bfloat16 on GPUs (what the checkpoints are trained in), float32 on CPU."""
        if self._dtype_setting != "auto":
            return self._dtype_setting
        return "float32" if self.device == "cpu" else "bfloat16"

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype_name)

    # -- checkpoint inspection (no torch) -------------------------------------------------

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

    # -- memory estimate ----------------------------------------------------------------

    def weight_bytes(self, mode: str) -> int:
        """Bytes of weights resident on the device at the peak of a `mode` job.

        With model offload only the largest component sits on the GPU at a time; with
        sequential or group offload roughly one block does. On CPU everything is in RAM.
        """
        counts = dict(self.param_counts())
        extra_model = self.mode_models.get(mode)
        if extra_model:
            for name, n in self.param_counts(extra_model).items():
                if name not in self.shared_components:
                    counts[name] = n
        per_param = memory.DTYPE_BYTES.get(self.dtype_name, 4)
        sizes = [n * per_param for n in counts.values()]
        if not sizes:
            return 0
        if self.device != "cpu" and self.offload == "model":
            return max(sizes)
        if self.device != "cpu" and self.offload in ("sequential", "group"):
            return max(sizes) // 10
        return sum(sizes)

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

    def estimate_memory(self, request: GenerationRequest) -> int:
        """Peak bytes on the execution device for `request` (weights + activations)."""
        return self.weight_bytes(request.mode) + self.activation_bytes(request)

    def memory_budget(self) -> tuple[int, str]:
        """Bytes this engine may use at peak on its device, and how to name that limit.

        On CPU the weights this engine already holds count as available: they are the
        ones the estimate includes.
        """
        if self.max_memory_gb is not None:
            return int(self.max_memory_gb * memory.GIB), f"the {self.max_memory_gb:g} GB limit"
        device = self.device
        if device.startswith("cuda"):
            return memory.cuda_total_memory(device), f"the GPU ({device})"
        held = self.weight_bytes("text_to_video") if self._base is not None else 0
        return memory.available_ram() + held, "available RAM"

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
        if self.device != "cpu" and self.offload == "none":
            advice += " Enabling offload (model or group) lowers the weights' share."
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

    # -- loading ------------------------------------------------------------------------

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

    def _from_pretrained(self, cls: Any, model: str, **components: Any) -> Any:
        try:
            pipe = cls.from_pretrained(
                model,
                dtype=self.torch_dtype,
                local_files_only=self.local_files_only,
                **components,
            )
        except (OSError, ValueError) as exc:
            where = "locally" if self.local_files_only else "locally or on the hub"
            raise GenerationError(
                f"Could not load the {self.label} model {model!r} ({where}): {exc}",
                field="engine",
            ) from exc
        self.load_count += 1
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        self._configure_modules(pipe)
        return pipe

    def base_pipeline(self) -> Any:
        """The pipeline loaded from `model`, loading it on first use only."""
        with self._lock:
            if self._base is None:
                import diffusers

                self._base = self._from_pretrained(
                    diffusers.DiffusionPipeline, self.require_model()
                )
            return self._base

    def pipeline(self, mode: str) -> Any:
        """The pipeline for `mode`, built once and placed on the device for this job.

        The checkpoint is read from disk once; a mode whose class differs from the
        checkpoint's shares its modules (`from_pipe`), so switching modes costs no memory.
        """
        import diffusers

        with self._lock:
            pipe = self._pipes.get(mode)
            if pipe is None:
                cls_name = self.pipeline_classes[mode]
                cls = getattr(diffusers, cls_name)
                if mode in self.mode_models:
                    base = self.base_pipeline()
                    shared = {
                        k: v
                        for k, v in base.components.items()
                        if k in self.shared_components and v is not None
                    }
                    pipe = self._from_pretrained(cls, self.mode_models[mode], **shared)
                else:
                    base = self.base_pipeline()
                    pipe = base if type(base).__name__ == cls_name else self._derive(cls, base)
                self._pipes[mode] = pipe
            self._place(pipe)
            return pipe

    def _derive(self, cls: Any, base: Any) -> Any:
        try:
            pipe = cls.from_pipe(base)
        except (ValueError, TypeError, AttributeError):
            accepted = inspect.signature(cls.__init__).parameters
            pipe = cls(**{k: v for k, v in base.components.items() if k in accepted})
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        return pipe

    @staticmethod
    def denoisers(pipe: Any) -> list[Any]:
        """The modules that run every step (transformer(s) or UNet)."""
        names = ("transformer", "transformer_2", "unet")
        return [m for m in (getattr(pipe, n, None) for n in names) if m is not None]

    def _configure_modules(self, pipe: Any) -> None:
        """Apply the per-module performance and memory options once per loaded module."""
        vae = getattr(pipe, "vae", None)
        if vae is not None:
            if self.vae_tiling and hasattr(vae, "enable_tiling"):
                vae.enable_tiling()
            if self.vae_slicing and hasattr(vae, "enable_slicing"):
                vae.enable_slicing()
        for module in self.denoisers(pipe):
            if self.attention_backend and hasattr(module, "set_attention_backend"):
                from diffusers.models.attention_dispatch import _AttentionBackendRegistry

                # set_attention_backend also makes the backend the process-wide default,
                # which every other engine in this worker would then inherit; the module's
                # own processors keep it, so put the global default back.
                previous = _AttentionBackendRegistry._active_backend
                try:
                    module.set_attention_backend(self.attention_backend)
                except (ValueError, RuntimeError, ImportError) as exc:
                    raise GenerationError(
                        f"Engine {self.id}: attention backend {self.attention_backend!r} is "
                        f"not available here ({exc}).",
                        field="attention_backend",
                    ) from exc
                finally:
                    _AttentionBackendRegistry.set_active_backend(previous)
            if self.step_cache and hasattr(module, "enable_cache"):
                from diffusers import FirstBlockCacheConfig

                module.enable_cache(FirstBlockCacheConfig(threshold=float(self.step_cache)))
            # Regional compile needs the model to name its repeated blocks (Wan and LTX do;
            # CogVideoX and the SVD UNet do not, and diffusers raises for them).
            if self.compile and getattr(module, "_repeated_blocks", None):
                module.compile_repeated_blocks(fullgraph=True)

    def _place(self, pipe: Any) -> None:
        """Put `pipe` on the device with the configured offload strategy.

        Model and sequential offload install hooks per pipeline, so they are re-applied
        when the active mode changes (the modules are shared); group offload is applied
        once per module. On CPU there is nothing to offload to.
        """
        if self._placed is pipe:
            return
        device = self.device
        if device == "cpu" or self.offload == "none":
            pipe.to(device)
        elif self.offload == "model":
            pipe.enable_model_cpu_offload(device=device)
        elif self.offload == "sequential":
            pipe.enable_sequential_cpu_offload(device=device)
        elif self.offload == "group":
            import torch
            from diffusers.hooks import apply_group_offloading

            for module in pipe.components.values():
                if not isinstance(module, torch.nn.Module) or id(module) in self._group_offloaded:
                    continue
                if hasattr(module, "decode"):
                    # Block-level offload onloads a VAE's top-level weights from a hook on
                    # `forward`, but pipelines call `vae.encode`/`vae.decode`, which never
                    # run it (LTX, CogVideoX and SVD VAEs name no block modules): the weights
                    # would stay on the CPU. Leaf level hooks every layer, whatever is called.
                    apply_group_offloading(
                        module, onload_device=torch.device(device), offload_type="leaf_level"
                    )
                else:
                    apply_group_offloading(
                        module,
                        onload_device=torch.device(device),
                        offload_type="block_level",
                        num_blocks_per_group=1,
                        use_stream=True,
                    )
                self._group_offloaded.add(id(module))
        self._placed = pipe

    def execution_device(self, pipe: Any) -> str:
        device = getattr(pipe, "_execution_device", None)
        return str(device) if device is not None else self.device

    # -- running ------------------------------------------------------------------------

    def run(
        self, pipe: Any, request: GenerationRequest, progress: Progress, **call_kwargs: Any
    ) -> np.ndarray:
        """Call `pipe` seeded, with progress and cancel wired in; return uint8 frames.

        Progress is reported after every denoising step against the number of steps the
        pipeline actually runs (video-to-video runs `steps * strength`). A cancel raises
        `Cancelled` from the step callback, so it lands within one step and skips the
        VAE decode. Out-of-memory errors free what they can and become `OutOfMemory`.
        """
        import torch

        steps = request.steps or self.capabilities.default_steps or 30
        generator = torch.Generator(device=self.execution_device(pipe)).manual_seed(request.seed)

        def on_step_end(p: Any, i: int, t: Any, tensors: dict) -> dict:
            total = getattr(p, "_num_timesteps", None) or steps
            progress.step(i + 1, int(total))
            if progress.cancelled():
                raise Cancelled()
            return tensors

        kwargs: dict[str, Any] = {
            "num_inference_steps": steps,
            "generator": generator,
            "callback_on_step_end": on_step_end,
            "output_type": "np",
        }
        kwargs.update(call_kwargs)
        check_cancel(progress)
        try:
            with torch.inference_mode():
                out = pipe(**kwargs)
        except BaseException as exc:
            # Whatever stopped the call (cancel, out of memory, a failing progress sink, a
            # pipeline error), stateful hooks such as the step cache must not carry this
            # run's tensors into the next job on the warm pipeline.
            self._after_failure(pipe)
            if isinstance(exc, torch.OutOfMemoryError) or (
                isinstance(exc, RuntimeError)
                and ("out of memory" in str(exc).lower() or "can't allocate" in str(exc))
            ):
                raise self._oom(request) from exc
            raise
        frames = out.frames[0] if isinstance(out.frames, (list, tuple)) else out.frames
        frames = np.asarray(frames)
        if frames.ndim == 5:
            frames = frames[0]
        return frames_to_uint8(frames)

    def _after_failure(self, pipe: Any) -> None:
        """Release what an interrupted call holds so the next job starts clean."""
        if hasattr(pipe, "maybe_free_model_hooks"):
            with contextlib.suppress(Exception):  # best effort: the job already failed
                pipe.maybe_free_model_hooks()
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _oom(self, request: GenerationRequest) -> OutOfMemory:
        caps = self.capabilities
        shorter = caps.round_frames(max(caps.min_frames, request.num_frames // 2))
        advice = (
            f"Try a smaller size (e.g. {caps.fit_size(request.width // 2)}×"
            f"{caps.fit_size(request.height // 2)}) or fewer frames (e.g. {shorter})"
        )
        if self.device != "cpu" and self.offload in ("none", "model"):
            advice += ", or set the engine's offload to " + (
                "model" if self.offload == "none" else "group"
            )
        return OutOfMemory(
            f"{self.label} ran out of memory at {request.width}×{request.height}, "
            f"{request.num_frames} frames. {advice}."
        )

    def result(self, frames: np.ndarray, request: GenerationRequest, **info: Any) -> VideoResult:
        """Wrap frames with the fps and the facts a recipe needs to reproduce them."""
        info = {
            "engine": self.id,
            "model": self.model,
            "mode": request.mode,
            "seed": request.seed,
            "steps": request.steps or self.capabilities.default_steps,
            **info,
        }
        return VideoResult(frames=frames, fps=request.fps, info=info)

    def restyle(
        self,
        request: GenerationRequest,
        progress: Progress,
        call_kwargs: Callable[[Any], dict[str, Any]],
    ) -> VideoResult:
        """Restyle the first `num_frames` frames of the input video (video_to_video).

        `strength` is the share of the schedule re-noised: 0 returns the input unchanged,
        1 keeps only its length and frame size. A shorter input is restyled at the longest
        length the frame rule allows, with a note. `call_kwargs(pipe)` gives the family's
        prompt and guidance arguments.
        """
        from generation.video import read_video

        assert request.video_path
        source, _info = read_video(request.video_path, max_frames=request.num_frames)
        caps = self.capabilities
        n = len(source)
        notes = []
        if n < request.num_frames:
            n = (n - caps.frame_offset) // caps.frame_multiple * caps.frame_multiple
            n += caps.frame_offset
            if n < caps.min_frames:
                raise GenerationError(
                    f"The input video has {len(source)} frames; {self.label} needs at least "
                    f"{caps.min_frames}.",
                    field="video_path",
                )
            notes.append(f"The input video has only {len(source)} frames; restyled {n}.")
        video = cover_frames(source[:n], request.width, request.height)
        steps = request.steps or caps.default_steps or 30
        if int(steps * request.strength) == 0:
            notes.append("Strength rounds to no denoising steps; the input is returned as is.")
            progress.step(1, 1)
            return VideoResult(frames=video, fps=request.fps, notes=notes)
        pipe = self.pipeline("video_to_video")
        frames = self.run(
            pipe,
            request,
            progress,
            video=[to_pil(f) for f in video],
            strength=request.strength,
            **call_kwargs(pipe),
        )
        result = self.result(frames, request, strength=request.strength)
        result.notes.extend(notes)
        return result

    def prepare(self, request: GenerationRequest) -> None:
        """What every run checks first: the request, the weights, the memory it needs."""
        self.capabilities.validate(request, engine_label=self.label)
        self.require_model()
        self.check_memory(request)

    def generate(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        """Validate, check memory, then run the mode's method (loading on first use)."""
        self.prepare(request)
        handler = getattr(self, request.mode, None)
        if handler is None or request.mode not in self.pipeline_classes:
            raise GenerationError(f"{self.label} does not implement {request.mode}.", field="mode")
        with self._lock:
            return handler(request, progress)
