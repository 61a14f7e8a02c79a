"""One pipeline cache per worker process: loading, placement and eviction under one budget.

Every diffusers engine in a worker asks this cache for its pipelines instead of keeping
them itself, so the weights of all engines share one memory budget. Making room for a
pipeline unloads the least recently used ones first (as ComfyUI's `free_memory` and
InvokeAI's model cache do). A pipeline a running job holds is never unloaded under it: a
job that needs that room waits for the other job to finish, unless it holds pipelines
itself, in which case it goes ahead over budget rather than risk two jobs waiting on each
other (the worker runs one job at a time, so in practice it never waits).

Placement is chosen here from the device. On the CPU everything stays in RAM. On a GPU the
job gets the weakest offload that fits the budget with its working memory
(`memory.choose_offload`): everything on the GPU, one component at a time, or layer by
layer through diffusers' group offload, so a pipeline larger than the budget still runs.
On the CPU there is nothing to offload to: a job over the whole budget is refused before
anything loads (`CheckpointEngine.check_memory`, naming the sizes that fit). A pipeline
resident with a weaker strategy than a job needs is loaded again with the stronger one. VAE tiling is on by default on GPUs (the decode is the peak of a long clip) and off
on the CPU.

Memory is counted per pool: the execution device (a GPU, or RAM on a CPU worker) and host
RAM for the weights offloaded from a GPU. An entry weighs what the checkpoint's safetensors
headers say until it is loaded, then what its modules' tensors measure.

torch and diffusers are imported inside functions, as in the engines.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import logging
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from generation import memory

logger = logging.getLogger(__name__)

Key = tuple[str, str, str]
"""(engine id, checkpoint, pipeline class): what one cache entry holds."""

DENOISERS = ("transformer", "transformer_2", "unet")
"""Components that run every step: group offload streams their layers ahead of use."""


def pool_of(device: str) -> str:
    """The memory pool a torch device name draws on: "cpu" or "cuda:<index>"."""
    return "cuda:0" if device == "cuda" else device


def auto_vae_tiling(device: str) -> bool:
    """Tile the VAE decode on accelerators, where it is a long clip's peak; not on the CPU."""
    return pool_of(device) != "cpu"


@dataclass(eq=False)
class PipelineSpec:
    """How to get one pipeline: its key, a loader, and what the checkpoint says it weighs.

    `load()` returns the pipeline with its weights in RAM (`from_pretrained`); the cache
    places it. `weights` are bytes per component it owns, from the checkpoint's headers;
    the measured sizes replace them once loaded. A pipeline built on another entry's
    components (a mode's own checkpoint sharing the text encoder and VAE) names that entry
    in `requires` and the borrowed components in `shared`: they are neither counted nor
    placed twice, and unloading the required entry unloads this one too.
    """

    key: Key
    load: Callable[[], Any]
    weights: Mapping[str, int]
    device: str = "cpu"
    vae_tiling: bool | None = None
    vae_slicing: bool = False
    requires: Key | None = None
    shared: frozenset[str] = frozenset()


@dataclass(eq=False)
class _Entry:
    spec: PipelineSpec
    pipeline: Any
    offload: str
    weights: dict[str, int]
    views: dict[str, Any] = field(default_factory=dict)
    users: collections.Counter[int] = field(default_factory=collections.Counter)
    working: int = 0
    # The pipeline object whose offload hooks are installed (kept on the root entry, whose
    # modules every dependent pipeline shares).
    hooked: Any = None

    @property
    def key(self) -> Key:
        return self.spec.key

    @property
    def pool(self) -> str:
        return pool_of(self.spec.device)

    def resident(self) -> dict[str, int]:
        """Bytes held between jobs, per pool: on the device, or in RAM when offloaded."""
        total = sum(self.weights.values())
        if self.pool == "cpu" or self.offload == "none":
            return {self.pool: total}
        return {"cpu": total}

    def active(self) -> int:
        """Bytes on the device beyond `resident` while jobs run: activations, streamed weights."""
        if not self.users:
            return 0
        return self.working + _transient(self.weights, self.offload, self.pool)


def _transient(weights: Mapping[str, int], offload: str, pool: str) -> int:
    """Weights an offloaded pipeline brings onto the device during a job."""
    if pool == "cpu" or offload == "none":
        return 0
    return memory.device_weight_bytes(weights, offload, pool)


def _stronger(a: str, b: str) -> str:
    return a if memory.OFFLOAD_STRENGTH[a] >= memory.OFFLOAD_STRENGTH[b] else b


class Lease:
    """A pipeline pinned for one job: `get` gives the pipeline object to call."""

    def __init__(self, cache: PipelineCache, entry: _Entry):
        self._cache = cache
        self._entry = entry

    @property
    def pipeline(self) -> Any:
        """The loaded pipeline (its own class, as the checkpoint names it)."""
        return self._entry.pipeline

    @property
    def offload(self) -> str:
        return self._entry.offload

    def get(self, class_name: str | None = None, derive: Callable[[Any], Any] | None = None) -> Any:
        """The pipeline of `class_name`, derived once from the loaded one (same modules).

        Model and sequential offload hook one pipeline object, so they are installed here,
        on the object the job is about to call.
        """
        return self._cache._activate(self._entry, class_name, derive)


class PipelineCache:
    """The worker's pipelines, loaded once and kept warm under one memory budget.

    `budget_bytes` bounds the execution device (the GPU, or RAM on a CPU-only worker);
    None derives it from the device (`memory.default_budget`). `device` ("auto", "cpu",
    "cuda[:n]") is where engines without a device setting run.
    """

    def __init__(self, budget_bytes: int | None = None, *, device: str = "auto"):
        self.budget_bytes = budget_bytes
        self._device: str | None = None if device == "auto" else device
        self._defaults: dict[str, int] = {}
        # Least recently used first.
        self._entries: collections.OrderedDict[Key, _Entry] = collections.OrderedDict()
        self._cond = threading.Condition(threading.RLock())
        self.unloaded: list[Key] = []
        """Keys unloaded to make room or on request, oldest first (for logs and tests)."""
        self.waiting = 0
        """Jobs waiting for another job's pipelines to be released."""

    # -- budget ---------------------------------------------------------------------------

    @property
    def device(self) -> str:
        """Where engines run unless they name a device: cuda when a GPU is visible."""
        if self._device is None:
            import torch

            self._device = "cuda" if torch.cuda.is_available() else "cpu"
        return self._device

    def budget(self, device: str) -> int:
        """Bytes the worker's pipelines may use on `device`.

        The configured budget applies to the execution device; host RAM under a GPU worker
        and unconfigured devices get `memory.default_budget`, read once (with what this
        cache held then), so that unloading is judged against a fixed amount.
        """
        pool = pool_of(device)
        if self.budget_bytes is not None and (pool != "cpu" or pool_of(self.device) == "cpu"):
            return self.budget_bytes
        with self._cond:
            if pool not in self._defaults:
                self._defaults[pool] = memory.default_budget(pool) + self._held(pool)
            return self._defaults[pool]

    def choose_offload(
        self,
        device: str,
        weights: Mapping[str, int],
        working: int,
        *,
        offload: str = "auto",
        cap: int | None = None,
    ) -> str:
        """The offload a job runs with: none on the CPU, the setting, or the weakest that fits.

        `weights` are bytes per component of every pipeline the job uses, `working` its
        activations, `cap` an engine's own limit below the budget.
        """
        if pool_of(device) == "cpu":
            return "none"
        if offload != "auto":
            return offload
        budget = self.budget(device)
        return memory.choose_offload(weights, working, budget if cap is None else min(cap, budget))

    def resident(self) -> list[Key]:
        """Keys of the resident pipelines, least recently used first."""
        with self._cond:
            return list(self._entries)

    def offload(self, key: Key) -> str | None:
        """The offload strategy a resident entry runs with; None when it is not resident."""
        with self._cond:
            entry = self._entries.get(key)
            return entry.offload if entry else None

    def resident_bytes(self, device: str) -> int:
        """Bytes held on `device` now, running jobs' working memory included."""
        with self._cond:
            return self._held(pool_of(device))

    # -- use ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def use(
        self, spec: PipelineSpec, *, working: int = 0, offload: str = "auto"
    ) -> Iterator[Lease]:
        """Pin the pipeline `spec` names for the block, loading and placing it if needed.

        Room is made first for what is missing plus `working` (the job's activations):
        the least recently used unpinned entries are unloaded until it fits. `offload` is
        the job's strategy ("auto": chosen here from `spec.weights`).
        """
        me = threading.get_ident()
        with self._cond:
            entry = self._acquire(spec, working, offload, me)
        try:
            yield Lease(self, entry)
        finally:
            with self._cond:
                entry.users[me] -= 1
                if entry.users[me] <= 0:
                    del entry.users[me]
                entry.working -= working
                self._cond.notify_all()

    def unload(self, engine_id: str) -> None:
        """Unload every pipeline of `engine_id` (a job running on one keeps its reference)."""
        with self._cond:
            for entry in [e for e in self._entries.values() if e.key[0] == engine_id]:
                self._drop(entry)
            self._cond.notify_all()
        _release_memory()

    def clear(self) -> None:
        """Unload every pipeline."""
        with self._cond:
            for entry in list(self._entries.values()):
                self._drop(entry)
            self._cond.notify_all()
        _release_memory()

    # -- internals (called with the lock held) ---------------------------------------------

    def _acquire(self, spec: PipelineSpec, working: int, offload: str, me: int) -> _Entry:
        offload = self.choose_offload(spec.device, spec.weights, working, offload=offload)
        parent = self._entries.get(spec.requires) if spec.requires else None
        if parent is not None:
            # Borrowed modules are placed by their owner; the borrower cannot be weaker.
            offload = _stronger(offload, parent.offload)
        entry = self._entries.get(spec.key)
        weaker = entry is not None and (
            memory.OFFLOAD_STRENGTH[entry.offload] < memory.OFFLOAD_STRENGTH[offload]
        )
        if entry is not None and weaker and not self._blocked(entry):
            logger.info("Reloading %s with %s offload for a larger job", spec.key, offload)
            self._drop(entry)
            _release_memory()
            entry = None
        if entry is not None:
            offload = entry.offload
        keep = self._lineage(spec)
        pool = pool_of(spec.device)
        need: collections.Counter[str] = collections.Counter()
        need[pool] += working + _transient(spec.weights, offload, pool)
        if entry is None:
            probe = _Entry(spec, None, offload, dict(spec.weights))
            need.update(probe.resident())
        self._make_room(need, keep, me)
        entry = self._entries.get(spec.key)  # Loaded by another job while this one waited?
        if entry is None:
            entry = self._load(spec, offload)
            # The measured size may exceed the checkpoint's estimate.
            extra = working + _transient(entry.weights, entry.offload, pool)
            self._make_room(collections.Counter({pool: extra}), keep, me)
        entry.users[me] += 1
        entry.working += working
        for key in keep:
            if key in self._entries:
                self._entries.move_to_end(key)
        self._entries.move_to_end(spec.key)
        return entry

    def _load(self, spec: PipelineSpec, offload: str) -> _Entry:
        pipe = spec.load()
        weights = _measure(pipe, spec.shared) or dict(spec.weights)
        entry = _Entry(spec, pipe, offload, weights)
        self._place(entry)
        self._entries[spec.key] = entry
        logger.info(
            "Loaded %s (%s, %s offload on %s)",
            spec.key,
            memory.fmt_gb(sum(weights.values())),
            offload,
            spec.device,
        )
        return entry

    def _place(self, entry: _Entry) -> None:
        """Apply the memory options that belong to the modules this entry owns."""
        pipe, spec = entry.pipeline, entry.spec
        vae = getattr(pipe, "vae", None)
        if vae is not None and "vae" not in spec.shared:
            tiling = auto_vae_tiling(spec.device) if spec.vae_tiling is None else spec.vae_tiling
            if tiling and hasattr(vae, "enable_tiling"):
                vae.enable_tiling()
            if spec.vae_slicing and hasattr(vae, "enable_slicing"):
                vae.enable_slicing()
        if entry.pool == "cpu" or entry.offload == "none":
            pipe.to(spec.device)
        elif entry.offload == "group":
            for name, module in pipe.components.items():
                if name not in spec.shared and hasattr(module, "named_modules"):
                    _group_offload(module, spec.device, stream=name in DENOISERS)
        # Model and sequential offload hook a pipeline object, not its modules: `_activate`.

    def _activate(
        self, entry: _Entry, class_name: str | None, derive: Callable[[Any], Any] | None
    ) -> Any:
        with self._cond:
            pipe = entry.pipeline
            if class_name and type(pipe).__name__ != class_name:
                pipe = entry.views.get(class_name)
                if pipe is None:
                    if derive is None:
                        raise ValueError(f"{entry.key} is not a {class_name} and cannot derive one")
                    pipe = entry.views[class_name] = derive(entry.pipeline)
            if entry.pool != "cpu" and entry.offload in ("model", "sequential"):
                root = self._root(entry)
                if root.hooked is not pipe:
                    if root.hooked is not None:
                        root.hooked.remove_all_hooks()
                    if entry.offload == "model":
                        pipe.enable_model_cpu_offload(device=entry.spec.device)
                    else:
                        pipe.enable_sequential_cpu_offload(device=entry.spec.device)
                    root.hooked = pipe
            return pipe

    def _make_room(self, need: Mapping[str, int], keep: set[Key], me: int) -> None:
        """Unload least recently used entries until `need` fits every pool it touches."""
        while True:
            over = {
                pool: self._held(pool) + n - self.budget(pool) for pool, n in need.items() if n > 0
            }
            over = {pool: n for pool, n in over.items() if n > 0}
            if not over:
                return
            victim = next(
                (
                    e
                    for e in self._entries.values()
                    if e.key not in keep
                    and not self._blocked(e)
                    and any(d.resident().get(pool) for d in self._family(e) for pool in over)
                ),
                None,
            )
            if victim is not None:
                logger.info("Unloading %s to make room", victim.key)
                self._drop(victim)
                _release_memory()
                continue
            others = any(
                set(e.users) - {me}
                for e in self._entries.values()
                if any(e.resident().get(pool) or (e.pool == pool and e.active()) for pool in over)
            )
            if not others or any(me in e.users for e in self._entries.values()):
                logger.warning(
                    "Over the memory budget by %s; running anyway",
                    ", ".join(f"{memory.fmt_gb(n)} on {pool}" for pool, n in over.items()),
                )
                return
            self.waiting += 1
            try:
                self._cond.wait()
            finally:
                self.waiting -= 1

    def _held(self, pool: str) -> int:
        held = 0
        for e in self._entries.values():
            held += e.resident().get(pool, 0)
            if e.pool == pool:
                held += e.active()
        return held

    def _lineage(self, spec: PipelineSpec) -> set[Key]:
        keys = {spec.key}
        parent = spec.requires
        while parent is not None and parent not in keys:
            keys.add(parent)
            entry = self._entries.get(parent)
            parent = entry.spec.requires if entry else None
        return keys

    def _root(self, entry: _Entry) -> _Entry:
        seen = {entry.key}
        while entry.spec.requires and entry.spec.requires not in seen:
            parent = self._entries.get(entry.spec.requires)
            if parent is None:
                break
            seen.add(parent.key)
            entry = parent
        return entry

    def _family(self, entry: _Entry) -> list[_Entry]:
        """`entry` and every entry built on it: what unloading it unloads."""
        family = [entry]
        for e in family:
            family.extend(d for d in self._entries.values() if d.spec.requires == e.key)
        return family

    def _blocked(self, entry: _Entry) -> bool:
        return any(e.users for e in self._family(entry))

    def _drop(self, entry: _Entry) -> None:
        """Forget `entry` and the entries built on it; memory returns once no job holds them."""
        for e in reversed(self._family(entry)):
            if self._entries.pop(e.key, None) is not None:
                self.unloaded.append(e.key)
            if not e.users:  # A job still running on it (`unload`) keeps what it holds.
                e.views.clear()
                e.hooked = None
                e.pipeline = None


def _measure(pipe: Any, shared: frozenset[str]) -> dict[str, int]:
    """Bytes per owned torch module of a loaded pipeline; {} when it has none."""
    components = getattr(pipe, "components", None)
    if not isinstance(components, Mapping):
        return {}
    return {
        name: memory.module_bytes(module)
        for name, module in components.items()
        if name not in shared and hasattr(module, "parameters") and hasattr(module, "buffers")
    }


def _group_offload(module: Any, device: str, *, stream: bool) -> None:
    """Group-offload one module layer by layer through diffusers' own API.

    Leaf level hooks every layer, so it also covers what pipelines call outside
    `forward` (a VAE's `decode`). Streams prefetch the next layer while one computes; the
    denoisers use them, VAEs do not (diffusers warns that streams and VAE tiling conflict).
    """
    import torch
    from diffusers.hooks import apply_group_offloading

    onload = torch.device(device)
    kwargs: dict[str, Any] = {
        "onload_device": onload,
        "offload_type": "leaf_level",
        "use_stream": stream and onload.type == "cuda",
    }
    if hasattr(module, "enable_group_offload"):  # diffusers models
        module.enable_group_offload(**kwargs)
    else:  # transformers text and image encoders
        apply_group_offloading(module, **kwargs)


def _release_memory() -> None:
    """Return freed weights to the OS and the CUDA allocator's cache to the device."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
