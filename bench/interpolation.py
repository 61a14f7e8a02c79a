"""Frame interpolation quality: drop frames, rebuild them, compare with the originals.

For every clip the bench keeps every `factor`-th frame, rebuilds the ones in between with
each method (duplicate, blend, flow = DIS, rife, adaptive = the default) and reports PSNR
and SSIM of the rebuilt frames against the dropped originals, the share of frame pairs the
adaptive method gave to RIFE and, in a second table, seconds per generated frame. Frames
between two kept frames that straddle a scene cut are left out of the scores and counted in
their own column. `--every-pair` adds the adaptive method as it runs on a GPU (RIFE on
every pair), measured on this machine.

    .venv/bin/python bench/interpolation.py [VIDEO] [--frames 48] [--spots 3] [--width 854]
        [--factors 2,4] [--weights PATH] [--every-pair] [--only TEXT,...]

VIDEO defaults to ../shared/fixtures/bbb_480p_30s.mp4 (Big Buck Bunny) beside the repo;
from it come `--spots` evenly spaced clips and two fast-action stretches (a bird dancing,
16–18 s, and taking off, 19.5–21 s). Camera pans and a rotating, zooming camera over scikit-image photos are always
included, so the bench runs without the video. `--only` keeps the clips whose name contains
one of the comma-separated texts (e.g. `--only "take,@22"`). RIFE's weights are read from
var/models/rife/flownet.pkl (`scripts/bootstrap.sh` fetches them) or `--weights`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generation.enhance import interpolate_with_info  # noqa: E402

DEFAULT_VIDEO = ROOT.parent / "shared" / "fixtures" / "bbb_480p_30s.mp4"
DEFAULT_WEIGHTS = ROOT / "var" / "models" / "rife" / "flownet.pkl"
METHODS = ("duplicate", "blend", "flow", "rife", "adaptive")
EVERYWHERE = "adaptive, RIFE on every pair"
"""The GPU's rule, measured on the CPU with `--every-pair`."""
FAST_ACTION = (("the bird dances", 16.0, 48), ("the bird takes off", 19.5, 36))
"""Fast-action stretches of Big Buck Bunny: what happens, start (s), length (frames). The
second is the fastest motion in the 30-s clip (DIS flow's 95th percentile above 30 px a
frame), with heavy motion blur."""
CUT_PSNR = 12.0
ATTRIBUTION = (
    "Big Buck Bunny, (c) copyright 2008, Blender Foundation / www.bigbuckbunny.org, "
    "licensed under Creative Commons Attribution 3.0."
)


def read_spot(path: Path, start_s: float, count: int, width: int | None) -> np.ndarray:
    """Decode `count` consecutive frames from `start_s` seconds, optionally resized."""
    import av
    import cv2

    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        container.seek(int(start_s * 1_000_000))
        for frame in container.decode(stream):
            if frame.time is not None and frame.time < start_s:
                continue
            rgb = frame.to_ndarray(format="rgb24")
            if width and width != rgb.shape[1]:
                height = round(rgb.shape[0] * width / rgb.shape[1] / 2) * 2
                rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
            frames.append(rgb)
            if len(frames) == count:
                break
    return np.stack(frames)


def panned_photos(count: int) -> list[tuple[str, np.ndarray]]:
    from skimage import data

    clips = []
    for name, dx, dy in (("astronaut", 3, 1), ("chelsea", 4, 2), ("coffee", 2, 3)):
        image = getattr(data, name)()
        h, w = 256, 320
        if name == "chelsea":
            h, w = 200, 256
        n = min(count, (image.shape[1] - w) // dx, (image.shape[0] - h) // dy)
        clip = np.stack([image[i * dy : i * dy + h, i * dx : i * dx + w] for i in range(n)])
        clips.append((f"pan {name} {dx},{dy} px/frame", clip))
    return clips


def rotating_photo(count: int, degrees: float = 1.0, zoom: float = 0.01) -> tuple[str, np.ndarray]:
    """A camera turning `degrees` and zooming in by `zoom` per frame about the photo's centre."""
    import cv2
    from skimage import data

    image = data.astronaut()
    h, w = 256, 320
    cy, cx = image.shape[0] / 2, image.shape[1] / 2
    frames = []
    for i in range(count):
        m = cv2.getRotationMatrix2D((cx, cy), degrees * i, (1 + zoom) ** i)
        m[:, 2] += (w / 2 - cx, h / 2 - cy)  # keep the centre of the photo in the middle
        frames.append(cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_CUBIC))
    return f"rotate {degrees:g}°+zoom {zoom:.0%}/frame astronaut", np.stack(frames)


def photo_clips(count: int) -> list[tuple[str, np.ndarray]]:
    return [*panned_photos(count), rotating_photo(count)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-10)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(
        np.mean([structural_similarity(x, y, channel_axis=-1) for x, y in zip(a, b, strict=True)])
    )


def cut_frames(clip: np.ndarray, factor: int) -> np.ndarray:
    """Mark dropped frames whose kept neighbours straddle a scene cut.

    Which side of a cut a dropped frame belongs to cannot be known from its neighbours, so
    any method scores by luck there; `flow` deliberately holds the nearer frame.
    """
    n = len(clip)
    jumps = [psnr(clip[i], clip[i + 1]) < CUT_PSNR for i in range(n - 1)]
    cut = np.zeros(n, bool)
    for k0 in range(0, n - 1, factor):
        if any(jumps[k0 : k0 + factor]):
            cut[k0 + 1 : k0 + factor] = True
    return cut


Scores = dict[str, tuple[float, float, float, float]]
"""Per method: PSNR, SSIM, seconds per generated frame, share of pairs given to RIFE."""


def measure(
    clip: np.ndarray, factor: int, weights: Path, methods: tuple[str, ...]
) -> tuple[Scores, int]:
    n = (len(clip) - 1) // factor * factor + 1
    clip = clip[:n]
    kept = clip[::factor]
    cut = cut_frames(clip, factor)
    mask = np.ones(n, bool)
    mask[::factor] = False
    generated = int(mask.sum())
    mask &= ~cut
    results = {}
    for method in methods:
        every = method == EVERYWHERE
        start = time.perf_counter()
        rebuilt, info = interpolate_with_info(
            kept,
            factor,
            method="adaptive" if every else method,
            rife_weights=weights,
            rife_on_every_pair=True if every else None,
        )
        seconds = (time.perf_counter() - start) / generated
        if info.note:
            raise SystemExit(f"{method}: {info.note} Run scripts/bootstrap.sh.")
        results[method] = (
            psnr(rebuilt[mask], clip[mask]),
            ssim(rebuilt[mask], clip[mask]),
            seconds,
            info.rife_share,
        )
    return results, int(cut.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--frames", type=int, default=48, help="frames per spot")
    parser.add_argument("--spots", type=int, default=3, help="places sampled in the video")
    parser.add_argument("--width", type=int, default=None, help="resize footage to this width")
    parser.add_argument("--factors", default="2,4")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="RIFE checkpoint")
    parser.add_argument(
        "--every-pair", action="store_true", help="also measure adaptive with RIFE on every pair"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated texts: measure only clips named with one"
    )
    args = parser.parse_args()
    factors = [int(f) for f in args.factors.split(",")]
    methods = (*METHODS, EVERYWHERE) if args.every_pair else METHODS

    clips: list[tuple[str, np.ndarray]] = []
    if args.video.exists():
        from generation.video import probe

        info = probe(args.video)
        print(f"Footage: {args.video.name}, {info.width}×{info.height}, {info.fps:g} fps.")
        if args.video.resolve() == DEFAULT_VIDEO.resolve():
            print(f"Footage credit: {ATTRIBUTION}")
        for k in range(args.spots):
            start = info.duration * (k + 1) / (args.spots + 1)
            clip = read_spot(args.video, start, args.frames, args.width)
            clips.append((f"{args.video.stem} @{start:.1f}s", clip))
        if args.video.resolve() == DEFAULT_VIDEO.resolve():
            for what, start, count in FAST_ACTION:
                clip = read_spot(args.video, start, count, args.width)
                clips.append((f"{args.video.stem} @{start:.1f}s fast action: {what}", clip))
    else:
        print(f"{args.video} not found: only photos are measured.")
    clips += photo_clips(args.frames)
    if args.only:
        wanted = [w.strip().lower() for w in args.only.split(",") if w.strip()]
        clips = [(name, clip) for name, clip in clips if any(w in name.lower() for w in wanted)]
        if not clips:
            raise SystemExit(f"No clip's name contains any of: {args.only}.")
    if args.weights.is_file():  # load RIFE once, outside the timings
        from generation import rife

        rife.load(args.weights)(clips[-1][1][0], clips[-1][1][1], [0.5])

    print()
    header = " | ".join(f"{m} PSNR / SSIM" for m in methods)
    print(f"| clip | size | factor | {header} | adaptive − DIS | RIFE share | cut frames |")
    print("|---|---|---|" + "---|" * len(methods) + "---|---|---|")
    rows: list[tuple[str, Scores]] = []
    for name, clip in clips:
        size = f"{clip.shape[2]}×{clip.shape[1]}"
        for factor in factors:
            res, cuts = measure(clip, factor, args.weights, methods)
            rows.append((f"{name} ×{factor}", res))
            cells = " | ".join(f"{res[m][0]:.2f} / {res[m][1]:.3f}" for m in methods)
            gain = res["adaptive"][0] - res["flow"][0]
            share = res["adaptive"][3]
            print(
                f"| {name} | {size} | ×{factor} | {cells} | {gain:+.2f} dB | {share:.0%} | {cuts} |",
                flush=True,
            )
    mean = {m: np.mean([r[m] for _, r in rows], axis=0) for m in methods}
    cells = " | ".join(f"**{mean[m][0]:.2f} / {mean[m][1]:.3f}**" for m in methods)
    gain = mean["adaptive"][0] - mean["flow"][0]
    print(f"| mean of rows | | | {cells} | **{gain:+.2f} dB** | {mean['adaptive'][3]:.0%} | |")

    print()
    print(f"| seconds per generated frame | {' | '.join(methods)} |")
    print("|---|" + "---|" * len(methods))
    for label, res in rows:
        print(f"| {label} | " + " | ".join(f"{res[m][2]:.4f}" for m in methods) + " |")
    print("| mean of rows | " + " | ".join(f"**{mean[m][2]:.4f}**" for m in methods) + " |")
    print()
    for label, res in rows:
        best = max(res["flow"][0], res["rife"][0])
        if res["adaptive"][0] < best - 0.2:
            print(
                f"Adaptive is {res['adaptive'][0] - best:+.2f} dB from the better of DIS and RIFE: {label}."
            )


if __name__ == "__main__":
    main()
