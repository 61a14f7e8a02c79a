"""A tiny pipeline laid out as huggingface_hub's cache holds a download, for fetch tests.

`HF_HUB_CACHE/models--Org--Name/` with `blobs/` (the bytes), `snapshots/<commit>/` (the
repository's files as symlinks to the blobs) and `refs/<revision>` (the commit): the layout
huggingface_hub's cache uses. Built offline by copying a tiny random-weight pipeline that the
tests saved to disk; nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

COMMIT = "0123456789abcdef0123456789abcdef01234567"
WAN_HUB_ID = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"


def lay_out_hub_cache(
    pipeline_dir: Path, cache_dir: Path, hub_id: str, *, revision: str = "main"
) -> Path:
    """Copy `pipeline_dir` into `cache_dir` as a hub-cache snapshot; return the snapshot."""
    repo = cache_dir / ("models--" + hub_id.replace("/", "--"))
    snapshot = repo / "snapshots" / COMMIT
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    for path in sorted(p for p in Path(pipeline_dir).rglob("*") if p.is_file()):
        data = path.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        if not blob.exists():
            shutil.copyfile(path, blob)
        link = snapshot / path.relative_to(pipeline_dir)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / revision).write_text(COMMIT)
    return snapshot


@pytest.fixture
def wan_hub_cache(tmp_path, tiny_wan_dir) -> Path:
    """A hub cache holding the tiny Wan pipeline as `wan-t2v-1.3b`'s checkpoint."""
    cache = tmp_path / "hub-cache"
    lay_out_hub_cache(tiny_wan_dir, cache, WAN_HUB_ID)
    return cache
