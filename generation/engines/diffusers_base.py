"""Running diffusers pipelines: the part of a diffusers engine that needs torch.

A family engine (Wan, LTX, CogVideoX, SVD) subclasses `DiffusersEngine`, names its
pipeline class per mode in `pipeline_classes` and implements one method per mode that
builds the pipeline call and hands it to `run`. What the checkpoint says without loading
it (capabilities, parameter counts, the memory a request needs) is in
`checkpoint.CheckpointEngine`; where the weights live is the worker's `PipelineCache`,
which every engine asks for its pipelines. This module owns what runs: loading through
the cache, sharing components between modes, performance options, seeding, progress and
cancel, and out-of-memory translation.

torch and diffusers are imported inside methods so that importing an engine module (the
web process does, to read capabilities) stays cheap.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from generation.cache import DENOISERS, PipelineSpec
from generation.engines.checkpoint import CheckpointEngine
from generation.spec import (
    Cancelled,
    GenerationError,
    GenerationRequest,
    OutOfMemory,
    Progress,
    VideoResult,
    check_cancel,
)


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


@dataclass
class _Job:
    """The running job: its pipelines stay pinned in the cache until it ends."""

    working: int
    offload: str
    stack: contextlib.ExitStack
    pipes: dict[str, Any] = field(default_factory=dict)


class DiffusersEngine(CheckpointEngine):
    """Base class for engines that run diffusers pipelines.

    Subclass contract (besides `CheckpointEngine`'s):

    - `pipeline_classes`: mode -> diffusers pipeline class name, e.g.
      `{"text_to_video": "WanPipeline"}`. The checkpoint is loaded once (its own class,
      from `model_index.json`); other modes reuse its components via `from_pipe`.
    - one method per mode, named like the mode (`text_to_video(request, progress)`),
      returning a `VideoResult`; typically `self.result(self.run(self.pipeline(mode),
      request, progress, prompt=..., ...), request)`. Checks that need no weights come
      before `self.pipeline(mode)`, which loads on first use.
    """

    pipeline_classes: dict[str, str] = {}

    def __init__(self, **config: Any):
        super().__init__(**config)
        self.load_count = 0
        self._lock = threading.RLock()
        self._job: _Job | None = None
        self._main_key: tuple[str, str, str] | None = None
        self._attention_checked = False

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype_name)

    # -- pipelines, through the worker's cache -------------------------------------------

    def pipeline(self, mode: str) -> Any:
        """The pipeline for `mode`, loaded on first use and pinned until the job ends.

        Outside a job (a script or test looking at the engine) it is loaded if needed and
        returned unpinned.
        """
        job = self._job
        if job is None:
            with self.pipelines(mode) as pipe:
                return pipe
        pipe = job.pipes.get(mode)
        if pipe is None:
            pipe = job.stack.enter_context(
                self.pipelines(mode, working=job.working, offload=job.offload)
            )
            job.working = 0  # Counted once, with the first pipeline.
            job.pipes[mode] = pipe
        return pipe

    @contextlib.contextmanager
    def pipelines(self, mode: str, *, working: int = 0, offload: str = "auto") -> Iterator[Any]:
        """Pin the pipeline for `mode` in the cache for the block, loading it if needed.

        The checkpoint is one cache entry; a mode whose class differs from the checkpoint's
        shares its modules (`from_pipe`), so switching modes costs no memory. A mode with its
        own checkpoint (`mode_models`) is a second entry borrowing `shared_components`.
        """
        main = self._main_spec()
        with self.cache.use(main, working=working, offload=offload) as lease:
            if mode not in self.mode_models:
                name = self.pipeline_classes[mode]
                yield lease.get(name, lambda base: self._derive(name, base))
                return
            spec = self._mode_spec(mode, lease.pipeline, main)
            with self.cache.use(spec, offload=lease.offload) as own:
                yield own.get()

    def _main_spec(self) -> PipelineSpec:
        model = self.require_model()

        def load() -> Any:
            import diffusers

            return self._from_pretrained(diffusers.DiffusionPipeline, model)

        if self._main_key is None or self._main_key[1] != model:
            # Read once: a hub checkpoint's index appears after its first download, and the
            # key must not change then.
            name = self.model_index().get("_class_name") or "DiffusionPipeline"
            self._main_key = (self.id, model, name)
        return PipelineSpec(
            key=self._main_key,
            load=load,
            weights=self.component_bytes(),
            device=self.device,
            vae_tiling=self._vae_tiling_setting,
            vae_slicing=self.vae_slicing,
        )

    def _mode_spec(self, mode: str, base: Any, main: PipelineSpec) -> PipelineSpec:
        model, class_name = self.mode_models[mode], self.pipeline_classes[mode]
        shared = {
            k: v
            for k, v in base.components.items()
            if k in self.shared_components and v is not None
        }

        def load() -> Any:
            import diffusers

            return self._from_pretrained(getattr(diffusers, class_name), model, **shared)

        return PipelineSpec(
            key=(self.id, model, class_name),
            load=load,
            weights=self.component_bytes(model, skip=self.shared_components),
            device=self.device,
            vae_tiling=self._vae_tiling_setting,
            vae_slicing=self.vae_slicing,
            requires=main.key,
            shared=frozenset(shared),
        )

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
        self._configure_modules(pipe, skip=set(components))
        return pipe

    def _derive(self, class_name: str, base: Any) -> Any:
        """Build another mode's pipeline class over `base`'s modules."""
        import diffusers

        cls = getattr(diffusers, class_name)
        try:
            pipe = cls.from_pipe(base)
        except (ValueError, TypeError, AttributeError):
            accepted = inspect.signature(cls.__init__).parameters
            pipe = cls(**{k: v for k, v in base.components.items() if k in accepted})
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        return pipe

    def _configure_modules(self, pipe: Any, skip: set[str]) -> None:
        """Apply the per-engine performance options to the denoisers this load created."""
        for name in DENOISERS:
            module = getattr(pipe, name, None)
            if module is None or name in skip:
                continue
            if self.step_cache and hasattr(module, "enable_cache"):
                from diffusers import FirstBlockCacheConfig

                module.enable_cache(FirstBlockCacheConfig(threshold=float(self.step_cache)))
            # Regional compile needs the model to name its repeated blocks (Wan and LTX do;
            # CogVideoX and the SVD UNet do not, and diffusers raises for them).
            if self.compile and getattr(module, "_repeated_blocks", None):
                module.compile_repeated_blocks(fullgraph=True)

    def _attention(self) -> contextlib.AbstractContextManager[Any]:
        """The engine's attention backend for the length of a pipeline call.

        diffusers' `attention_backend` context sets the process-wide default and puts the
        previous one back afterwards, so other engines in the worker keep theirs (the
        worker runs one job at a time).
        """
        if not self.attention_backend:
            return contextlib.nullcontext()
        from diffusers import attention_backend

        return attention_backend(self.attention_backend)

    def check_attention_backend(self) -> None:
        """Refuse a backend this machine lacks before loading anything."""
        if self._attention_checked or not self.attention_backend:
            return
        try:
            with self._attention():
                pass
        except (ValueError, RuntimeError, ImportError) as exc:
            raise GenerationError(
                f"Engine {self.id}: attention backend {self.attention_backend!r} is not "
                f"available here ({exc}).",
                field="attention_backend",
            ) from exc
        self._attention_checked = True

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
            with torch.inference_mode(), self._attention():
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
            n = caps.frames_at_most(len(source))
            if n > len(source):
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
        super().prepare(request)
        self.check_attention_backend()

    @contextlib.contextmanager
    def job(self, request: GenerationRequest) -> Iterator[None]:
        """Run one job: one at a time per engine, its pipelines pinned until it ends."""
        with self._lock, contextlib.ExitStack() as stack:
            self._job = _Job(
                working=self.working_bytes(request),
                offload=self.offload_for(request),
                stack=stack,
            )
            try:
                yield
            finally:
                self._job = None

    def generate(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        """Validate, check memory, then run the mode's method (loading on first use)."""
        self.prepare(request)
        handler = getattr(self, request.mode, None)
        if handler is None or request.mode not in self.pipeline_classes:
            raise GenerationError(f"{self.label} does not implement {request.mode}.", field="mode")
        with self.job(request):
            return handler(request, progress)
