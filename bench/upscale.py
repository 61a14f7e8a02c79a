"""Upscaling speed on the CPU: seconds per frame for each Real-ESRGAN model and Lanczos.

    .venv/bin/python bench/upscale.py [--width 256 --height 144 --frames 3]

Frames are crops of a scikit-image photo, so no download or fixture is needed. The first
frame of each model is timed separately: it includes loading the weights.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generation import enhance  # noqa: E402

CASES = (
    ("realesrgan", "general", 2),
    ("realesrgan", "general", 4),
    ("realesrgan", "anime", 2),
    ("realesrgan", "anime", 4),
    ("lanczos", "general", 2),
    ("lanczos", "general", 4),
)


def frames(width: int, height: int, count: int) -> np.ndarray:
    import cv2
    from skimage import data

    photo = cv2.resize(data.astronaut(), (width * 2, height * 2), interpolation=cv2.INTER_AREA)
    return np.stack([photo[i * 4 : i * 4 + height, i * 4 : i * 4 + width] for i in range(count)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--height", type=int, default=144)
    parser.add_argument("--frames", type=int, default=3)
    args = parser.parse_args()
    clip = frames(args.width, args.height, args.frames)
    print(f"Input {args.width}×{args.height}, {args.frames} frames, {os.cpu_count()} CPUs.")
    print()
    print("| backend | model | scale | weights | first frame (s, incl. load) | s/frame |")
    print("|---|---|---|---|---|---|")
    for backend, model, scale in CASES:
        start = time.perf_counter()
        _, info = enhance.upscale_with_info(clip[:1], scale, model=model, backend=backend)
        first = time.perf_counter() - start
        start = time.perf_counter()
        enhance.upscale_with_info(clip, scale, model=model, backend=backend)
        per_frame = (time.perf_counter() - start) / len(clip)
        label = model if backend == "realesrgan" else "—"
        print(
            f"| {info.backend} | {label} | ×{scale} | {info.model} | {first:.2f} | "
            f"{per_frame:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
