"""Upscaling speed: seconds per frame for each Real-ESRGAN model and runtime, and Lanczos.

    .venv/bin/python bench/upscale.py [--width 320 --height 180 --frames 2]
        [--runtimes ncnn,torch] [--models fast,general,anime] [--threads N]

Frames are crops of a scikit-image photo, so no download or fixture is needed. Each case
runs once on one frame first (loading the weights, warming up), then is timed over
`--frames` frames, tiles and all, exactly as a job runs it. `--threads` sets torch's
thread count (default: torch's own); ncnn uses all cores.
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

from generation import upscale  # noqa: E402

SCALES = {"fast": (2, 3, 4), "general": (2, 4), "anime": (4,)}


def frames(width: int, height: int, count: int) -> np.ndarray:
    import cv2
    from skimage import data

    photo = cv2.resize(data.astronaut(), (width * 2, height * 2), interpolation=cv2.INTER_AREA)
    return np.stack([photo[i * 4 : i * 4 + height, i * 4 : i * 4 + width] for i in range(count)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=180)
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--runtimes", default="ncnn,torch")
    parser.add_argument("--models", default="fast,general,anime")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    clip = frames(args.width, args.height, args.frames)
    print(f"Input {args.width}×{args.height}, {args.frames} frames, {os.cpu_count()} CPUs.")
    print()
    print("| runtime | model | scale | weights | tiles/frame | first frame (s) | s/frame |")
    print("|---|---|---|---|---|---|---|")
    cases = [
        (runtime, model, scale)
        for model in args.models.split(",")
        for runtime in args.runtimes.split(",")
        for scale in SCALES[model]
    ]
    cases += [("lanczos", "fast", 2), ("lanczos", "fast", 4)]
    for runtime, model, scale in cases:
        kwargs = (
            {"backend": "lanczos"}
            if runtime == "lanczos"
            else {"backend": "realesrgan", "runtime": runtime, "device": "cpu", "model": model}
        )
        start = time.perf_counter()
        _, info = upscale.upscale_with_info(clip[:1], scale, **kwargs)
        first = time.perf_counter() - start
        start = time.perf_counter()
        upscale.upscale_with_info(clip, scale, **kwargs)
        per_frame = (time.perf_counter() - start) / len(clip)
        tiles = upscale.upscale_steps(1, args.height, args.width, scale, **kwargs)
        label = model if runtime != "lanczos" else "—"
        print(
            f"| {info.runtime or 'lanczos'} | {label} | ×{scale} | {info.model} | {tiles} | "
            f"{first:.2f} | {per_frame:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
