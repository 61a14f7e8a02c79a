"""Engine registry: builds engines from plain config dicts and keeps them warm.

Engine modules import torch and diffusers lazily (inside methods), so building an engine
is cheap and the web process can read capabilities without loading a model. The registry
owns the worker's one `PipelineCache`: every engine it builds loads its pipelines through
it, so all of them share one memory budget and the least recently used are unloaded
first.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from typing import Any

from generation.cache import PipelineCache
from generation.spec import Engine, GenerationError

ENGINE_CLASSES = {
    "animatic": "generation.engines.animatic:AnimaticEngine",
    "wan": "generation.engines.wan:WanEngine",
    "ltx": "generation.engines.ltx:LTXEngine",
    "cogvideox": "generation.engines.cogvideox:CogVideoXEngine",
    "svd": "generation.engines.svd:SVDEngine",
    "enhance": "generation.engines.enhance:EnhanceEngine",
}


def engine_class(kind: str) -> type:
    try:
        path = ENGINE_CLASSES[kind]
    except KeyError:
        known = ", ".join(sorted(ENGINE_CLASSES))
        raise GenerationError(f"Unknown engine kind {kind!r}; known kinds: {known}.") from None
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


class Registry:
    """Engines by id, built once from `configs` and reused (warm) between jobs.

    `configs` maps an engine id to its config; the config's `kind` (default: the id)
    picks the class, the rest (`model`, `device`, `dtype`, `offload`, ...) goes to it.
    `budget_bytes` bounds what the pipelines of all engines may use on the worker's
    device (None: the device's memory less headroom, or the free RAM on a CPU worker).
    """

    def __init__(
        self,
        configs: Mapping[str, Mapping[str, Any]],
        *,
        budget_bytes: int | None = None,
        device: str = "auto",
    ):
        self._configs = {k: dict(v) for k, v in configs.items()}
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()
        self.cache = PipelineCache(budget_bytes, device=device)

    def ids(self) -> list[str]:
        return list(self._configs)

    def __contains__(self, engine_id: str) -> bool:
        return engine_id in self._configs

    def get(self, engine_id: str) -> Engine:
        with self._lock:
            engine = self._engines.get(engine_id)
            if engine is None:
                if engine_id not in self._configs:
                    known = ", ".join(self._configs) or "none"
                    raise GenerationError(
                        f"Engine {engine_id!r} is not configured; available: {known}.",
                        field="engine",
                    )
                config = dict(self._configs[engine_id])
                cls = engine_class(config.pop("kind", engine_id))
                engine = cls(engine_id=engine_id, cache=self.cache, **config)
                self._engines[engine_id] = engine
            return engine

    def configure(self, configs: Mapping[str, Mapping[str, Any]]) -> None:
        """Switch to `configs` without dropping warm engines that did not change.

        New engines are built on first use; an engine whose config changed or that is gone
        is forgotten and its pipelines unloaded. A model installed while the worker runs
        thus becomes an engine on its next job, and the others stay loaded.
        """
        new = {k: dict(v) for k, v in configs.items()}
        with self._lock:
            stale = [k for k, v in self._configs.items() if new.get(k) != v]
            self._configs = new
            for engine_id in stale:
                self._engines.pop(engine_id, None)
        for engine_id in stale:
            self.cache.unload(engine_id)

    def unload(self, engine_id: str) -> None:
        """Forget the engine and unload its pipelines; the next `get` builds it afresh."""
        with self._lock:
            self._engines.pop(engine_id, None)
        self.cache.unload(engine_id)
