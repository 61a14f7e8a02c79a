"""What the Models page shows: each catalogue entry with its state on this machine."""

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings

from generation.catalogue import CATALOGUE, CatalogueEntry
from generation.modelstore import model_path, read_manifest
from generation.spec import MODES

from .models import ModelDownload

MODE_NAMES = {
    "text_to_video": "text",
    "image_to_video": "image",
    "video_to_video": "video",
    "extend_forward": "extend forward",
    "extend_backward": "extend backward",
}


def dir_size(path: Path) -> int:
    """Bytes on disk under `path` (hard links counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


@dataclass
class ModelRow:
    entry: CatalogueEntry
    download: ModelDownload | None
    installed_at: datetime | None
    size_on_disk: int
    partial: bool
    """Files on disk without a manifest: an unfinished download Fetch resumes."""

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def state(self) -> str:
        """installed, downloading (or queued), failed, cancelled or missing."""
        if self.download is not None and self.download.is_active:
            return self.download.status
        if self.installed_at is not None:
            return "installed"
        if self.download is not None and self.download.status in ("failed", "cancelled"):
            return self.download.status
        return "missing"

    @property
    def switched_off(self) -> bool:
        """Installed, but STUDIO_ENGINES leaves it out of the engines offered."""
        selected = settings.STUDIO_ENGINES
        return self.installed_at is not None and bool(selected) and self.name not in selected

    @property
    def modes(self) -> str:
        ordered = [m for m in MODES if m in self.entry.modes]
        return ", ".join(MODE_NAMES.get(m, m.replace("_", " ")) for m in ordered)


def model_row(entry: CatalogueEntry, *, measure: bool = True) -> ModelRow:
    """The entry's state here; `measure=False` skips walking its directory for the size."""
    path = model_path(settings.STUDIO_MODELS_DIR, entry.name)
    manifest = read_manifest(path)
    installed_at = None
    if manifest:
        try:
            installed_at = datetime.fromisoformat(manifest["installed_at"])
        except (KeyError, TypeError, ValueError):
            installed_at = datetime.fromtimestamp(path.stat().st_mtime)
    exists = path.is_dir()
    return ModelRow(
        entry=entry,
        download=ModelDownload.objects.filter(name=entry.name).first(),
        installed_at=installed_at,
        size_on_disk=dir_size(path) if exists and measure else 0,
        partial=exists and manifest is None,
    )


def model_rows() -> list[ModelRow]:
    return [model_row(entry) for entry in CATALOGUE.values()]


@dataclass(frozen=True)
class Disk:
    models_dir: Path
    used_by_models: int
    free: int
    total: int


def disk_summary(rows: list[ModelRow]) -> Disk:
    root = Path(settings.STUDIO_MODELS_DIR)
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    used = dir_size(root) if root.is_dir() else 0
    return Disk(models_dir=root, used_by_models=used, free=usage.free, total=usage.total)
