"""Content Credentials cost: signing a clip, verifying it, and burning in the visible mark.

For a few clip sizes the bench encodes random frames to MP4 (as the worker does), then
times `provenance.sign` (ES256 with a development CA), `provenance.read` (with that CA as
trust anchor), a derived clip's signing (its parent as an ingredient) and `mark_frames`.
Prints a markdown table of milliseconds (median of `--repeat` runs) and the bytes the
manifest adds.

    .venv/bin/python bench/provenance.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generation import provenance, video  # noqa: E402

SIZES = ((256, 144, 16), (832, 480, 81), (1280, 720, 121))


def _ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def _signed_copy(plain: Path, target: Path, claims: provenance.Claims, identity) -> None:
    shutil.copyfile(plain, target)
    provenance.sign(target, claims, identity.cert_chain_pem, identity.key_pem)


def _row(folder: Path, identity, claims, size: tuple[int, int, int], repeat: int) -> str:
    width, height, frames = size
    pixels = np.random.default_rng(0).integers(0, 255, (frames, height, width, 3), np.uint8)
    plain, work = folder / f"{width}.mp4", folder / "work.mp4"
    video.encode_mp4(pixels, 16, plain)
    sign_ms = _ms(lambda: _signed_copy(plain, work, claims, identity), repeat)
    anchors = identity.trust_anchors_pem
    verify_ms = _ms(lambda: provenance.read(work, trust_anchors_pem=anchors), repeat)
    parent = folder / "parent.mp4"
    shutil.copyfile(work, parent)
    derived = provenance.Claims(**{**claims.__dict__, "parent": parent, "mode": "upscale"})
    child = folder / "child.mp4"
    derived_ms = _ms(lambda: _signed_copy(plain, child, derived, identity), repeat)
    mark_ms = _ms(lambda: provenance.mark_frames(pixels), repeat)
    added = (work.stat().st_size - plain.stat().st_size) / 1024
    return (
        f"| {width}×{height}×{frames} | {plain.stat().st_size / 1024:,.0f} | {sign_ms:.0f} | "
        f"{verify_ms:.0f} | {derived_ms:.0f} | {mark_ms:.0f} | {added:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        identity = provenance.dev_identity(folder / "c2pa")
        claims = provenance.Claims(
            engine="wan",
            model="Wan2.1-T2V-1.3B",
            source_type=provenance.TRAINED_ALGORITHMIC_MEDIA,
            recipe_sha256=provenance.recipe_digest({"prompt": "bench"}),
        )
        print("| clip | MP4 KB | sign ms | verify ms | sign derived ms | mark ms | manifest KB |")
        print("|---|---|---|---|---|---|---|")
        for size in SIZES:
            print(_row(folder, identity, claims, size, args.repeat))


if __name__ == "__main__":
    main()
