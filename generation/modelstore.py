"""Installed models on this machine: one directory per catalogue entry, with a manifest.

`models_dir / name` holds a diffusers pipeline laid out as on the hub (`model_index.json`,
one folder per component). `studio-model.json` inside it is written last, once every file
is downloaded and verified, so a directory without it is an unfinished download (which a
new fetch resumes) and never an engine.

Plain files: no torch, no Django, no network.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

MANIFEST = "studio-model.json"


def model_path(models_dir: str | Path, name: str) -> Path:
    return Path(models_dir) / name


def read_manifest(path: str | Path) -> dict[str, Any] | None:
    """The manifest of an installed model directory, or None when it is not installed."""
    try:
        with open(Path(path) / MANIFEST, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("name") else None


def write_manifest(path: str | Path, data: dict[str, Any]) -> None:
    """Write the manifest atomically: the model counts as installed from this moment."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path, prefix=".manifest-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
    os.replace(tmp, path / MANIFEST)


def installed(models_dir: str | Path) -> dict[str, Path]:
    """Installed models by name: the directories under `models_dir` with a manifest."""
    root = Path(models_dir)
    found: dict[str, Path] = {}
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir())
    except OSError:
        return found
    for child in children:
        manifest = read_manifest(child)
        if manifest and manifest["name"] == child.name:
            found[child.name] = child
    return found
