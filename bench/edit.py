"""The edit's speed: moviepy export (generation/edit.py) against raw `ffmpeg -c:v libx264`.

    .venv/bin/python bench/edit.py [--format landscape] [--fps 30] [--shots 3]
        [--seconds 2] [--preset veryfast] [--crf 18] [--source 1920x1080] [--repeat 3]
        [--compare OTHER_EDIT_PY]

Builds `--shots` takes of `--seconds` each (moving gradients, encoded once up front), then
times, on the same frames and x264 settings (same FFmpeg binary, the one in the
imageio-ffmpeg wheel):

- `ffmpeg raw`: the film's frames, already decoded and in memory, piped as rgb24 into
  `ffmpeg -c:v libx264`: pure encoding, the floor.
- `ffmpeg edit cuts` / `ffmpeg edit xfades`: FFmpeg doing the same edit from the take
  files itself (decode, fit with Lanczos when `--source` differs, concat or xfade 0.5 s,
  encode): the same work as moviepy's.
- `moviepy cuts`: `generation.edit.assemble` with cuts (decode, fit, compose, encode).
- `moviepy crossfades`: the same with a 0.5 s crossfade at every join.
- `compared cuts` / `compared crossfades`: the same with another version of
  generation/edit.py (`--compare`), in the same interleaved rounds.

The goal is moviepy within 1.5× of `ffmpeg raw`.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generation import edit, video  # noqa: E402


def take(index: int, frames: int, width: int, height: int) -> np.ndarray:
    """A moving gradient with some texture, so x264 has real work to do."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rng = np.random.default_rng(index)
    noise = rng.integers(0, 24, (height, width), dtype=np.uint8)
    out = np.empty((frames, height, width, 3), np.uint8)
    for i in range(frames):
        phase = i * 6 + index * 50
        out[i, ..., 0] = ((x + phase) % 256).astype(np.uint8)
        out[i, ..., 1] = ((y + phase * 0.5) % 256).astype(np.uint8)
        out[i, ..., 2] = noise + np.uint8(index * 60)
    return out


def ffmpeg_raw(frames: np.ndarray, fps: int, path: Path, preset: str, crf: int) -> float:
    t, h, w, _ = frames.shape
    cmd = [
        edit.ffmpeg_binary(),
        "-y",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{w}x{h}",
        "-r",
        str(fps),
        "-i",
        "-",
        "-c:v",
        "libx264",
        "-preset",
        preset,
        "-crf",
        str(crf),
        "-pix_fmt",
        "yuv420p",
        str(path),
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for frame in frames:
        proc.stdin.write(frame.tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("ffmpeg failed")
    return time.perf_counter() - start


def ffmpeg_edit(
    paths: list[str],
    seconds: float,
    fps: int,
    path: Path,
    preset: str,
    crf: int,
    fade: float,
    size: tuple[int, int] | None = None,
) -> float:
    """FFmpeg doing the whole edit itself: decode the takes, fit them to `size` (Lanczos,
    crop) when they are another size, concat (or xfade), encode."""
    inputs = [a for p in paths for a in ("-i", p)]
    fit, takes = [], [f"[{k}:v]" for k in range(len(paths))]
    if size is not None:
        w, h = size
        for k in range(len(paths)):
            fit.append(
                f"[{k}:v]scale={w}:{h}:force_original_aspect_ratio=increase:flags=lanczos,"
                f"crop={w}:{h}[f{k}]"
            )
        takes = [f"[f{k}]" for k in range(len(paths))]
    if fade:
        chain, last = [], takes[0]
        for k in range(1, len(paths)):
            offset = k * seconds - k * fade
            out = f"[x{k}]"
            chain.append(
                f"{last}{takes[k]}xfade=transition=fade:duration={fade}:offset={offset:.4f}{out}"
            )
            last = out
        graph, label = ";".join(fit + chain), last
    else:
        graph = ";".join([*fit, "".join(takes) + f"concat=n={len(paths)}:v=1[v]"])
        label = "[v]"
    cmd = [edit.ffmpeg_binary(), "-y", "-loglevel", "error", *inputs]
    cmd += ["-filter_complex", graph, "-map", label, "-r", str(fps), "-c:v", "libx264"]
    cmd += ["-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p", str(path)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def load_edit(path: str) -> Any:
    """Import another version of generation/edit.py (on this checkout's generation)."""
    spec = importlib.util.spec_from_file_location("edit_compared", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", default="landscape", choices=list(edit.EXPORT_FORMATS))
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--shots", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--crf", type=int, default=18)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--source", default="", help="take size WxH (default: export size)")
    parser.add_argument(
        "--compare",
        default="",
        help="another version of generation/edit.py, timed in the same rounds "
        "(e.g. from `git show main:generation/edit.py`)",
    )
    args = parser.parse_args()

    preset = edit.ExportPreset.named(args.format, fps=args.fps, fit="crop")
    sw, sh = map(int, args.source.split("x")) if args.source else (preset.width, preset.height)
    preset_size = (preset.width, preset.height)
    n = round(args.seconds * args.fps)
    with tempfile.TemporaryDirectory() as tmp:
        paths, all_frames = [], []
        for i in range(args.shots):
            frames = take(i, n, sw, sh)
            path = Path(tmp) / f"take-{i}.mp4"
            video.encode_mp4(frames, args.fps, path, crf=10)
            paths.append(str(path))
            # The film's frames as the edit sees them: decoded back and fitted.
            decoded = video.read_video(path)[0]
            all_frames.append(
                np.stack(
                    [edit.fit_frame(f, preset.width, preset.height, preset.fit) for f in decoded]
                )
            )
        film = np.concatenate(all_frames)
        out = Path(tmp)
        cases = {
            "ffmpeg raw": lambda: ffmpeg_raw(
                film, args.fps, out / "raw.mp4", args.preset, args.crf
            ),
        }
        for label, fade in (("ffmpeg edit cuts", 0.0), ("ffmpeg edit xfades", 0.5)):
            cases[label] = lambda fade=fade: ffmpeg_edit(
                paths,
                args.seconds,
                args.fps,
                out / "e.mp4",
                args.preset,
                args.crf,
                fade,
                None if (sw, sh) == (preset.width, preset.height) else preset_size,
            )
        versions = [("moviepy", edit)]
        if args.compare:
            versions.append(("compared", load_edit(args.compare)))
        for transition, kind in (("cut", "cuts"), ("crossfade", "crossfades")):
            for name, module in versions:
                plan = module.EditPlan(
                    shots=tuple(module.Shot(p, transition=transition) for p in paths),
                    preset=module.ExportPreset(preset.width, preset.height, args.fps, "crop"),
                    crf=args.crf,
                    x264_preset=args.preset,
                )

                def run(module: Any = module, plan: Any = plan) -> float:
                    start = time.perf_counter()
                    module.assemble(plan, out / "film.mp4")
                    return time.perf_counter() - start

                cases[f"{name} {kind}"] = run
        # Interleaved rounds, best of each: the machine is shared, so the minimum is the
        # figure least disturbed by other work.
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            for label, case in cases.items():
                best[label] = min(best.get(label, float("inf")), case())
        rows = list(best.items())
    base = rows[0][1]
    print(
        f"{args.shots} takes × {args.seconds:g} s of {sw}×{sh} → {preset.width}×{preset.height} "
        f"@ {args.fps} fps, libx264 -preset {args.preset} -crf {args.crf}, {len(film)} frames"
    )
    for label, seconds in rows:
        print(
            f"{label:20s} {seconds:7.2f} s  {1000 * seconds / len(film):6.1f} ms/frame  "
            f"{seconds / base:4.2f}×"
        )


if __name__ == "__main__":
    main()
