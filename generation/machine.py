"""What this machine is and which catalogue models it can run, said before downloading.

`device_facts()` reads the device (cuda or cpu, the GPU's name and memory, CUDA and
torch versions); torch is imported only inside it, so importing this module stays cheap.
`status()` turns a catalogue entry, those facts and whether the model is installed into
one of four states with a reason a user can act on: ready, not downloaded, does not fit
this GPU (naming the offload mode that would make it fit, or saying none does), needs a
GPU. The memory arithmetic is the catalogue's (`CatalogueEntry.memory_needed`), so the
machine page, `manage.py doctor`, the prompt form and the API all say the same thing.

No Django, no network.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from generation import memory
from generation.catalogue import CatalogueEntry

READY = "ready"
NOT_DOWNLOADED = "not downloaded"
TOO_BIG = "does not fit this GPU"
NEEDS_GPU = "needs a GPU"
SWITCHED_OFF = "switched off"

FIT_ORDER = ("none", "model", "group")
"""Offload modes from the fastest (all weights on the GPU) to the most frugal."""

CPU_MAX_PARAMS = 1e9
"""Above this many parameters a checkpoint takes hours per clip on a CPU: every real
catalogue model (Wan 1.3B with its 5.7B text encoder is 7B). The tiny random-weight
pipelines tests install under catalogue names have thousands, and stay runnable."""


@dataclass(frozen=True)
class Facts:
    """The device this process (and a worker on the same host) runs engines on."""

    device: str
    """"cuda" or "cpu"."""
    gpu_name: str = ""
    gpu_total: int = 0
    gpu_free: int = 0
    cuda_version: str = ""
    torch_version: str = ""
    ram_available: int = 0
    budget: int | None = None
    """Bytes the worker's pipelines may use on the GPU (STUDIO_MEMORY_BUDGET_GB); None:
    the card's memory less headroom, as `memory.default_budget` does."""

    @property
    def gpu_budget(self) -> int:
        if self.budget:
            return self.budget
        total = self.gpu_total
        return total - max(memory.CUDA_HEADROOM_MIN, int(total * memory.CUDA_HEADROOM_SHARE))


@dataclass(frozen=True)
class Status:
    state: str
    reason: str
    offload: str | None = None
    """The weakest offload mode a native-size clip fits with (None when none does, or on
    a CPU)."""
    need: dict[str, int] = field(default_factory=dict)
    """Peak GPU bytes per offload mode at the native size."""

    @property
    def ready(self) -> bool:
        return self.state == READY


def device_facts(budget: int | None = None) -> Facts:
    """Read the device: a CUDA GPU when torch sees one, else the CPU. Imports torch."""
    ram = memory.available_ram()
    try:
        import torch
    except ImportError:
        return Facts(device="cpu", ram_available=ram, budget=budget)
    version = str(torch.__version__)
    cuda = str(torch.version.cuda or "")
    if not torch.cuda.is_available():
        return Facts(
            device="cpu", cuda_version=cuda, torch_version=version, ram_available=ram, budget=budget
        )
    # Device properties need no CUDA context; `mem_get_info` would make one (hundreds of
    # MB on the card) in every process that asks, so free memory comes from nvidia-smi.
    props = torch.cuda.get_device_properties(0)
    return Facts(
        device="cuda",
        gpu_name=str(props.name),
        gpu_total=int(props.total_memory),
        gpu_free=_nvidia_smi_free(),
        cuda_version=cuda,
        torch_version=version,
        ram_available=ram,
        budget=budget,
    )


def _nvidia_smi_free() -> int:
    """Free bytes on the first GPU as nvidia-smi reports them (0 when it cannot say)."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits", "-i", "0"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
        return int(out.strip().splitlines()[0]) * 1024**2
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return 0


def disk_free(path: str | Path) -> int | None:
    """Free bytes on the filesystem holding `path` (or its nearest existing parent)."""
    p = Path(path).resolve()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def hub_cached(hub_id: str, revision: str | None = None) -> bool:
    """Whether a hub checkpoint's index is in the local hub cache (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(hub_id, "model_index.json", revision=revision)
    return isinstance(found, str)


def fitting_offload(
    entry: CatalogueEntry, budget: int, params: Mapping[str, float] | None = None
) -> str | None:
    """The fastest offload mode whose native-size peak fits `budget`, or None."""
    for offload in FIT_ORDER:
        if entry.memory_needed(offload, params) <= budget:
            return offload
    return None


def status(
    entry: CatalogueEntry,
    facts: Facts,
    installed: bool,
    *,
    params: Mapping[str, float] | None = None,
    offload: str = "auto",
) -> Status:
    """Whether this machine can run `entry` now, and if not, why and what would help.

    `params` are the installed checkpoint's parameter counts (from its safetensors
    headers) when known; the catalogue's otherwise. `offload` is the engine's setting:
    auto lets the worker choose, a fixed mode is held to. Checked in the order a user
    would act on: a GPU first, then whether it fits, then the download.
    """
    counts = params or entry.params
    total = sum(counts.values())
    if facts.device != "cuda":
        if entry.needs_gpu and total > CPU_MAX_PARAMS:
            return Status(
                NEEDS_GPU,
                f"needs a GPU: its {total / 1e9:.1f} B parameters (all components) take "
                "hours per clip on a CPU",
            )
        return _download_state(entry, installed, None, {})
    budget = facts.gpu_budget
    need = {mode: entry.memory_needed(mode, counts) for mode in FIT_ORDER}
    fits = next((mode for mode in FIT_ORDER if need[mode] <= budget), None)
    usable = memory.fmt_gb(budget)
    if fits is None:
        return Status(
            TOO_BIG,
            f"does not fit this GPU: needs {memory.fmt_gb(need['group'])} even with group "
            f"offload, {usable} usable here; no offload mode makes it fit",
            None,
            need,
        )
    chosen = fits if offload in ("auto", "sequential") else offload
    if chosen in need and need[chosen] > budget:
        return Status(
            TOO_BIG,
            f"does not fit this GPU with {chosen} offload ({memory.fmt_gb(need[chosen])}, "
            f"{usable} usable); set the engine's offload to {fits} (or auto) to fit",
            fits,
            need,
        )
    return _download_state(entry, installed, chosen, need)


def _download_state(
    entry: CatalogueEntry, installed: bool, offload: str | None, need: dict[str, int]
) -> Status:
    how = f" with {offload} offload" if offload and offload != "none" else ""
    if not installed:
        return Status(
            NOT_DOWNLOADED,
            f"not downloaded: {memory.fmt_gb(entry.download_bytes)} to fetch (manage.py "
            f"fetch_model {entry.name}), then it runs{how}",
            offload,
            need,
        )
    return Status(READY, f"ready{how}", offload, need)
