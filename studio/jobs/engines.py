"""The edge between Django settings and the engine registry in `generation/`."""

from dataclasses import dataclass

from django.conf import settings

from generation.engines import Registry
from generation.memory import GIB
from generation.spec import Capabilities

_registry: Registry | None = None
_registry_configs: dict | None = None


@dataclass(frozen=True)
class EngineInfo:
    id: str
    kind: str
    label: str
    capabilities: Capabilities
    default_guidance: float | None = None
    """Set when the engine takes a guidance (CFG) scale; the animatic and enhance do not."""
    default_motion_amount: int | None = None
    """Set when the engine takes a motion amount (Stable Video Diffusion's motion bucket)."""


def get_registry() -> Registry:
    """Return the process-wide registry; a worker keeps its engines (and pipelines) warm."""
    global _registry, _registry_configs
    configs = settings.STUDIO_ENGINE_CONFIGS
    if _registry is None or _registry_configs != configs:
        budget_gb = settings.STUDIO_MEMORY_BUDGET_GB
        _registry = Registry(configs, budget_bytes=int(budget_gb * GIB) if budget_gb else None)
        _registry_configs = {k: dict(v) for k, v in configs.items()}
    return _registry


def engine_info(engine_id: str) -> EngineInfo | None:
    config = settings.STUDIO_ENGINE_CONFIGS.get(engine_id)
    if config is None:
        return None
    engine = get_registry().get(engine_id)
    kind = config.get("kind", engine_id)
    return EngineInfo(
        id=engine_id,
        kind=kind,
        label=engine.label,
        capabilities=engine.capabilities,
        default_guidance=getattr(engine, "default_guidance", None),
        default_motion_amount=getattr(engine, "default_motion_amount", None),
    )


PROMPT_MODES = frozenset({"text_to_video", "image_to_video"})


def available_engines(*, modes: frozenset[str] | set[str] | None = None) -> list[EngineInfo]:
    """Configured engines, optionally only those offering at least one of `modes`."""
    infos = [info for e in settings.STUDIO_ENGINE_CONFIGS if (info := engine_info(e))]
    if modes is not None:
        infos = [i for i in infos if i.capabilities.modes & modes]
    return infos
