"""The edge between Django settings and the engine registry in `generation/`.

Engines come from two places: `settings.STUDIO_ENGINE_CONFIGS` (the animatic, enhance,
and checkpoints named by environment variables) and the catalogue models installed
under `STUDIO_MODELS_DIR` (`generation.modelstore`), each an engine whose id is its
catalogue name. The installed set is read again whenever the models directory or a
manifest changes, so a model fetched while the studio runs is an engine on the web
process's next request and the worker's next job, with nothing restarted.

Which engines can run here is said once, by `engine_statuses()`: the prompt form, the
API, the machine page and `manage.py doctor` all list from it.
"""

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from generation import catalogue, machine, memory, modelstore
from generation.catalogue import CatalogueEntry
from generation.engines import Registry
from generation.memory import GIB
from generation.spec import Capabilities, GenerationError

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


@dataclass(frozen=True)
class InstalledModel:
    entry: CatalogueEntry
    path: Path
    params: dict[str, int]
    """Parameters per component, from the checkpoint's safetensors headers."""


@dataclass(frozen=True)
class EngineStatus:
    id: str
    label: str
    state: str
    """One of `generation.machine`'s states: ready, not downloaded, ..."""
    reason: str
    configured: bool
    """An engine exists for it (configured in settings or installed); else a catalogue
    model not on this machine."""
    entry: CatalogueEntry | None = None

    @property
    def ready(self) -> bool:
        return self.state == machine.READY

    @property
    def gpu_memory(self) -> str:
        """What a native-size clip needs on a GPU without offload / with model / with group
        offload (catalogue models only)."""
        if self.entry is None:
            return ""
        return " / ".join(
            memory.fmt_gb(self.entry.memory_needed(mode)) for mode in machine.FIT_ORDER
        )

    @property
    def detail(self) -> str:
        """The reason without the state it starts with, for a table with a status column."""
        prefix = f"{self.state}: "
        if self.reason.startswith(prefix):
            return self.reason[len(prefix) :]
        return "" if self.reason == self.state else self.reason


_installed: tuple[tuple, dict[str, InstalledModel]] | None = None


def _models_signature(models_dir: Path) -> tuple:
    """What changes when a model is installed, replaced or removed: the directory's mtime
    and each manifest's. Costs one stat per model directory."""
    try:
        top = os.stat(models_dir).st_mtime_ns
        children = list(os.scandir(models_dir))
    except OSError:
        return (str(models_dir),)
    manifests = []
    for child in children:
        try:
            manifests.append(
                (child.name, os.stat(os.path.join(child.path, modelstore.MANIFEST)).st_mtime_ns)
            )
        except OSError:
            continue
    return (str(models_dir), top, tuple(sorted(manifests)))


def installed_models() -> dict[str, InstalledModel]:
    """Catalogue models installed under STUDIO_MODELS_DIR, read again only when it changes."""
    global _installed
    models_dir = Path(settings.STUDIO_MODELS_DIR)
    signature = _models_signature(models_dir)
    if _installed is not None and _installed[0] == signature:
        return _installed[1]
    found: dict[str, InstalledModel] = {}
    for name, path in modelstore.installed(models_dir).items():
        entry = catalogue.CATALOGUE.get(name)
        if entry is None:
            continue
        try:
            params = memory.component_param_counts(path)
        except GenerationError:  # A truncated file: judged by the catalogue's figures.
            params = {}
        found[name] = InstalledModel(entry=entry, path=path, params=params)
    _installed = (signature, found)
    return found


def engine_configs() -> dict[str, dict[str, Any]]:
    """Every engine's config: the settings' engines, then the installed catalogue models."""
    configs = {k: dict(v) for k, v in settings.STUDIO_ENGINE_CONFIGS.items()}
    for name, model in installed_models().items():
        if _selected(name):
            configs.setdefault(name, {"kind": model.entry.family, "model": str(model.path)})
    return configs


def _selected(engine_id: str) -> bool:
    """Whether STUDIO_ENGINES (empty: every engine) lets this engine be offered."""
    return not settings.STUDIO_ENGINES or engine_id in settings.STUDIO_ENGINES


def _switched_off(name: str, entry: CatalogueEntry) -> EngineStatus:
    return EngineStatus(
        name,
        entry.label,
        machine.SWITCHED_OFF,
        f"switched off: installed, but STUDIO_ENGINES ({','.join(settings.STUDIO_ENGINES)}) "
        "leaves it out; add its name there to offer it",
        False,
        entry,
    )


def get_registry() -> Registry:
    """Return the process-wide registry; a worker keeps its engines (and pipelines) warm.

    When the engines change (a model installed or removed, settings overridden), the
    registry is reconfigured: unchanged engines stay warm.
    """
    global _registry, _registry_configs
    configs = engine_configs()
    if _registry is None:
        budget_gb = settings.STUDIO_MEMORY_BUDGET_GB
        _registry = Registry(configs, budget_bytes=int(budget_gb * GIB) if budget_gb else None)
    elif _registry_configs != configs:
        _registry.configure(configs)
    _registry_configs = configs
    return _registry


@functools.cache
def _facts(budget: int | None) -> machine.Facts:
    return machine.device_facts(budget)


def machine_facts() -> machine.Facts:
    """This host's device facts, read once per process (it imports torch)."""
    budget_gb = settings.STUDIO_MEMORY_BUDGET_GB
    return _facts(int(budget_gb * GIB) if budget_gb else None)


def engine_info(engine_id: str) -> EngineInfo | None:
    """What an engine is and can do, runnable here or not (None: no such engine)."""
    config = engine_configs().get(engine_id)
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


def _looks_like_hub_id(model: str) -> bool:
    return model.count("/") == 1 and not model.startswith(("/", ".", "~"))


def _configured_status(engine_id: str, config: dict, installed: dict) -> EngineStatus:
    if engine_id in installed:
        model = installed[engine_id]
        entry = model.entry
        s = machine.status(
            entry,
            machine_facts(),
            installed=True,
            params=model.params or None,
            offload=config.get("offload", "auto"),
        )
        return EngineStatus(engine_id, entry.label, s.state, s.reason, True, entry)
    label = get_registry().get(engine_id).label
    model = str(config.get("model") or "")
    if (
        model
        and not os.path.isdir(model)
        and _looks_like_hub_id(model)
        and not machine.hub_cached(model, config.get("revision"))
    ):
        family = str(config.get("kind", engine_id)).upper()
        return EngineStatus(
            engine_id,
            label,
            machine.NOT_DOWNLOADED,
            f"not downloaded: the hub checkpoint {model} is not in this machine's hub "
            f"cache; fetch it on the Models page, or set STUDIO_{family}_MODEL to a "
            "local directory",
            True,
        )
    return EngineStatus(engine_id, label, machine.READY, "ready", True)


def engine_statuses() -> list[EngineStatus]:
    """Every engine and catalogue model, with whether it can run here and why not."""
    installed = installed_models()
    configs = engine_configs()
    statuses = [_configured_status(k, v, installed) for k, v in configs.items()]
    facts = None
    for name, entry in catalogue.CATALOGUE.items():
        if name in configs:
            continue
        if name in installed:
            statuses.append(_switched_off(name, entry))
            continue
        facts = facts or machine_facts()
        s = machine.status(entry, facts, installed=False)
        statuses.append(EngineStatus(name, entry.label, s.state, s.reason, False, entry))
    return statuses


def engine_status(engine_id: str) -> EngineStatus | None:
    """The status of one engine or catalogue model (None: neither)."""
    config = engine_configs().get(engine_id)
    if config is not None:
        return _configured_status(engine_id, config, installed_models())
    entry = catalogue.CATALOGUE.get(engine_id)
    if entry is None:
        return None
    if engine_id in installed_models():
        return _switched_off(engine_id, entry)
    s = machine.status(entry, machine_facts(), installed=False)
    return EngineStatus(engine_id, entry.label, s.state, s.reason, False, entry)


PROMPT_MODES = frozenset({"text_to_video", "image_to_video"})


def available_engines(*, modes: frozenset[str] | set[str] | None = None) -> list[EngineInfo]:
    """Engines that can run here, optionally only those offering at least one of `modes`."""
    installed = installed_models()
    infos = [
        info
        for engine_id, config in engine_configs().items()
        if _configured_status(engine_id, config, installed).ready
        and (info := engine_info(engine_id))
    ]
    if modes is not None:
        infos = [i for i in infos if i.capabilities.modes & modes]
    return infos


def missing_engines(*, modes: frozenset[str] | set[str] | None = None) -> list[EngineStatus]:
    """Engines and catalogue models that cannot run here, each with the reason.

    With `modes`, only those that would offer one of them.
    """
    missing = [s for s in engine_statuses() if not s.ready]
    if modes is not None:
        missing = [s for s in missing if _offers(s, modes)]
    return missing


def _offers(status: EngineStatus, modes: frozenset[str] | set[str]) -> bool:
    if status.entry is not None:
        return bool(status.entry.modes & modes)
    info = engine_info(status.id)
    return info is not None and bool(info.capabilities.modes & modes)


def first_run_guidance() -> dict[str, Any] | None:
    """What the projects page tells a new studio when the animatic is the only engine that
    turns prompts into clips (None otherwise): which model to fetch, and whether this
    machine has the GPU it needs."""
    if [e.kind for e in available_engines(modes=PROMPT_MODES)] != ["animatic"]:
        return None
    entry = catalogue.get(FIRST_MODEL)
    return {"entry": entry, "has_gpu": machine_facts().device == "cuda"}


FIRST_MODEL = "wan-t2v-1.3b"
"""The model first-run guidance points to: the smallest real text-to-video checkpoint."""
