"""Memory arithmetic for diffusers checkpoints, done without torch or loading weights.

A worker must refuse a job it cannot fit *before* spending a minute loading 30 GB of
weights, so parameter counts come from safetensors headers (a few kilobytes each) and
the available memory from the device, never from a trial run. The offload arithmetic
here (how many weight bytes sit on the accelerator under each strategy, which strategy
a job needs) is shared by the engines' refuse-before-loading check and the worker's
pipeline cache, so both reason about a job the same way.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generation.spec import GenerationError

GIB = 1024**3

OFFLOAD_MODES = ("auto", "none", "model", "group", "sequential")
"""Where weights live while a job runs on an accelerator. `none`: all on it; `model`: one
whole component at a time (diffusers' model CPU offload); `group`: a layer at a time,
streamed from RAM (diffusers' group offload); `sequential`: the same through accelerate
(slower; kept for setups where group offload misbehaves). `auto`: the weakest that fits."""

OFFLOAD_STRENGTH = {"none": 0, "model": 1, "group": 2, "sequential": 2}
"""Order of the strategies by how little of the weights they keep on the accelerator."""

BLOCK_SHARE = 10
"""Layer-wise offload keeps about a tenth of the largest component on the accelerator: the
layer running, the next one prefetched, and the small modules that are never split."""

CUDA_HEADROOM_MIN = GIB
CUDA_HEADROOM_SHARE = 0.05
"""Kept free on a GPU for the CUDA context, cuDNN workspaces and allocator fragmentation."""

DTYPE_BYTES = {
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
}

_SAFETENSORS_BYTES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
}


def fmt_gb(n: float) -> str:
    """Format a byte count as GB for messages users read."""
    gb = n / GIB
    if gb >= 10:
        return f"{gb:.0f} GB"
    if gb >= 0.1:
        return f"{gb:.1f} GB"
    return f"{gb:.2f} GB"


def safetensors_param_count(path: str | Path) -> int:
    """Count the parameters in one .safetensors file by reading only its JSON header."""
    try:
        with open(path, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            if size > 100 * 2**20:  # Real headers are kilobytes; this is a corrupt file.
                raise ValueError(f"a {size}-byte header")
            header = json.loads(f.read(size))
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
    except (OSError, struct.error, ValueError) as exc:  # UnicodeDecodeError is a ValueError.
        raise GenerationError(
            f"The model file {path} is unreadable or truncated ({exc}); copy it again.",
            field="engine",
        ) from None
    total = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        total += math.prod(entry.get("shape", [])) if entry.get("shape") else 1
    return total


def component_param_counts(model_dir: str | Path) -> dict[str, int]:
    """Parameters per pipeline component (`transformer`, `vae`, ...) of a saved pipeline.

    Components without safetensors weights (tokenizers, schedulers, .bin checkpoints)
    are left out; callers fill the gaps from per-family constants.
    """
    root = Path(model_dir)
    counts: dict[str, int] = {}
    if not root.is_dir():
        return counts
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(sub.glob("*.safetensors"))
        if files:
            counts[sub.name] = sum(safetensors_param_count(f) for f in files)
    return counts


def read_json(path: str | Path) -> dict:
    """Return the JSON object at `path`, or {} when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def available_ram() -> int:
    """Bytes of RAM the OS can hand out now (MemAvailable), psutil when /proc is absent."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil
    except ImportError:
        pages = os.sysconf("SC_AVPHYS_PAGES") if hasattr(os, "sysconf") else 0
        return int(pages * os.sysconf("SC_PAGE_SIZE")) if pages else 0
    return int(psutil.virtual_memory().available)


def cuda_total_memory(device: str = "cuda") -> int:
    """Total memory of a CUDA device in bytes (imports torch; only call on GPU hosts)."""
    import torch

    index = torch.device(device).index or 0
    return int(torch.cuda.get_device_properties(index).total_memory)


def device_weight_bytes(weights: Mapping[str, int], offload: str, device: str) -> int:
    """Bytes of weights on the execution device at a job's peak, per component sizes.

    With model offload only the largest component sits on the device at a time; with
    group or sequential offload about one layer does. On the CPU there is nothing to
    offload to, so every weight counts.
    """
    sizes = [int(n) for n in weights.values()]
    if not sizes:
        return 0
    if device == "cpu" or offload in ("none", "auto"):
        return sum(sizes)
    if offload == "model":
        return max(sizes)
    return max(sizes) // BLOCK_SHARE


def choose_offload(weights: Mapping[str, int], working: int, budget: int) -> str:
    """The weakest strategy whose peak (weights on the device + `working`) fits `budget`.

    When none fits, the strongest: the caller's memory check refuses what even that
    cannot run.
    """
    for offload in ("none", "model", "group"):
        if device_weight_bytes(weights, offload, "cuda") + working <= budget:
            return offload
    return "group"


def default_budget(device: str) -> int:
    """Bytes a worker's pipelines may use on `device` when no budget is configured.

    A GPU: its total memory less headroom (the worker is assumed to own the card; set a
    budget to share it). The CPU: the RAM the OS could hand out when asked.
    """
    if device.startswith("cuda"):
        total = cuda_total_memory(device)
        return total - max(CUDA_HEADROOM_MIN, int(total * CUDA_HEADROOM_SHARE))
    return available_ram()


def module_bytes(module: Any) -> int:
    """Bytes of a loaded torch module's parameters and buffers, each tensor counted once."""
    seen: set[int] = set()
    total = 0
    for tensor in (*module.parameters(), *module.buffers()):
        if id(tensor) not in seen:
            seen.add(id(tensor))
            total += tensor.numel() * tensor.element_size()
    return total
