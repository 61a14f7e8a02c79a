"""Frame interpolation on (T, H, W, 3) uint8 frames, on the CPU (upscaling: `upscale.py`).

Interpolation defaults to motion-compensated blending with OpenCV's DIS optical flow:
both neighbours are warped to the in-between time and blended where their flow is
trustworthy, so moving texture stays sharp instead of ghosting as a plain crossfade
does. A learned interpolator (RIFE, FILM) can be plugged in with `register_interpolator`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from generation.spec import GenerationError, Progress, check_cancel, check_frames

INTERPOLATION_FACTORS = (2, 3, 4)

Interpolator = Callable[[np.ndarray, np.ndarray, Sequence[float]], np.ndarray]
"""Make in-between frames: (frame0, frame1, times in (0, 1)) -> (len(times), H, W, 3) uint8."""

_INTERPOLATORS: dict[str, Interpolator] = {}


def register_interpolator(name: str, fn: Interpolator) -> None:
    """Make `fn` available as `interpolate(..., method=name)`, e.g. a RIFE or FILM model."""
    _INTERPOLATORS[name] = fn


def interpolators() -> list[str]:
    return sorted(_INTERPOLATORS)


def _duplicate(f0: np.ndarray, f1: np.ndarray, times: Sequence[float]) -> np.ndarray:
    """Hold the nearer neighbour: what a player does when it repeats frames."""
    return np.stack([f0 if t <= 0.5 else f1 for t in times])


def _blend(f0: np.ndarray, f1: np.ndarray, times: Sequence[float]) -> np.ndarray:
    """Crossfade the neighbours: smooth for slow change, ghosting for motion."""
    a, b = f0.astype(np.float32), f1.astype(np.float32)
    return np.stack([np.rint(a * (1 - t) + b * t).astype(np.uint8) for t in times])


_flow_local = threading.local()


def _dis() -> Any:
    """One DIS instance per thread: it keeps scratch buffers and is not thread-safe."""
    import cv2

    dis = getattr(_flow_local, "dis", None)
    if dis is None:
        dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        _flow_local.dis = dis
    return dis


def _is_cut(g0: np.ndarray, g1_warped: np.ndarray, conf01: np.ndarray) -> bool:
    """Tell a scene cut from motion: almost no flow is consistent and warping explains little.

    Measured on Big Buck Bunny: at its cuts ~0 % of pixels have consistent flow and the
    warped frame is off by 60–80 grey levels on average; across ordinary motion over 85 %
    are consistent and the residual stays under 3 levels.
    """
    consistent = float((conf01 > 0.5).mean())
    residual = float(np.abs(g0.astype(np.float32) - g1_warped).mean())
    return consistent < 0.25 and residual > 25.0


def _flow_interpolate(f0: np.ndarray, f1: np.ndarray, times: Sequence[float]) -> np.ndarray:
    """Warp both neighbours to each time with DIS flow and blend them by flow consistency.

    Flow F01 maps frame 0 to frame 1 (f0(x) ~ f1(x + F01(x))), F10 the reverse. The pixel
    at x of the in-between frame at time t is approximated by f0(x + t·F10(x)) and
    f1(x + (1-t)·F01(x)). A flow vector is trusted when going there and back lands where it
    started; a warp that samples outside the frame is not trusted. Where neither side is
    trusted the pixel falls back to the plain crossfade, which never invents structure.
    A pair that straddles a scene cut is held (duplicated) rather than blended.
    """
    import cv2

    h, w = f0.shape[:2]
    if min(h, w) < 16:
        return _blend(f0, f1, times)  # DIS needs a few 8-px patches to estimate anything
    g0 = cv2.cvtColor(f0, cv2.COLOR_RGB2GRAY)
    g1 = cv2.cvtColor(f1, cv2.COLOR_RGB2GRAY)
    dis = _dis()
    flow01 = dis.calc(g0, g1, None)
    flow10 = dis.calc(g1, g0, None)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))

    def sample(img: np.ndarray, flow: np.ndarray, s: float) -> np.ndarray:
        return cv2.remap(
            img,
            gx + s * flow[..., 0],
            gy + s * flow[..., 1],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )

    def consistency(fwd: np.ndarray, bwd: np.ndarray) -> np.ndarray:
        # |fwd(x) + bwd(x + fwd(x))| is ~0 where the pixel is visible in both frames.
        err = np.linalg.norm(fwd + sample(bwd, fwd, 1.0), axis=-1)
        tol = 0.5 + 0.05 * np.linalg.norm(fwd, axis=-1)
        conf = 1.0 / (1.0 + (err / tol) ** 2)
        return cv2.GaussianBlur(conf, (5, 5), 0)

    def inside(flow: np.ndarray, s: float) -> np.ndarray:
        x = gx + s * flow[..., 0]
        y = gy + s * flow[..., 1]
        return ((x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)).astype(np.float32)

    conf01 = consistency(flow01, flow10)  # trust in F01, used to warp frame 1
    conf10 = consistency(flow10, flow01)  # trust in F10, used to warp frame 0
    if _is_cut(g0, sample(g1, flow01, 1.0), conf01):
        # Across a scene cut nothing moves from one frame to the other: a blend would show
        # a double exposure, so hold each side of the cut instead.
        return _duplicate(f0, f1, times)
    a, b = f0.astype(np.float32), f1.astype(np.float32)
    out = np.empty((len(times), h, w, 3), np.uint8)
    for k, t in enumerate(times):
        warp0 = sample(a, flow10, t)
        warp1 = sample(b, flow01, 1.0 - t)
        c0 = conf10 * inside(flow10, t)
        c1 = conf01 * inside(flow01, 1.0 - t)
        w0, w1 = (1.0 - t) * c0, t * c1
        warped = (w0[..., None] * warp0 + w1[..., None] * warp1) / np.maximum(w0 + w1, 1e-6)[
            ..., None
        ]
        trust = np.maximum(c0, c1)[..., None]
        linear = a * (1.0 - t) + b * t
        out[k] = np.clip(np.rint(trust * warped + (1.0 - trust) * linear), 0, 255)
    return out


register_interpolator("flow", _flow_interpolate)
register_interpolator("blend", _blend)
register_interpolator("duplicate", _duplicate)


def interpolate(
    frames: np.ndarray,
    factor: int,
    *,
    method: str = "flow",
    progress: Progress | None = None,
) -> np.ndarray:
    """Insert `factor - 1` frames between every pair; the result has (T-1)·factor+1 frames.

    Play the result at `factor` times the fps to keep the clip's duration.
    """
    frames = check_frames(frames, what="frames in the clip", field="video_path")
    if factor not in INTERPOLATION_FACTORS:
        allowed = ", ".join(f"×{f}" for f in INTERPOLATION_FACTORS)
        raise GenerationError(
            f"Frame interpolation supports {allowed}; ×{factor} is not one of them.",
            field="scale",
        )
    try:
        fn = _INTERPOLATORS[method]
    except KeyError:
        known = ", ".join(interpolators())
        raise GenerationError(
            f"Unknown interpolation method {method!r}; available: {known}."
        ) from None
    t = frames.shape[0]
    if t < 2:
        raise GenerationError(
            "Frame interpolation needs a clip of at least two frames.", field="video_path"
        )
    times = [i / factor for i in range(1, factor)]
    out = np.empty(((t - 1) * factor + 1, *frames.shape[1:]), np.uint8)
    for i in range(t - 1):
        if progress is not None:
            check_cancel(progress)
        out[i * factor] = frames[i]
        mids = np.asarray(fn(frames[i], frames[i + 1], times))
        if mids.shape != (factor - 1, *frames.shape[1:]) or mids.dtype != np.uint8:
            raise GenerationError(
                f"Interpolator {method!r} returned frames of shape {mids.shape} and dtype "
                f"{mids.dtype}; expected {(factor - 1, *frames.shape[1:])} uint8."
            )
        out[i * factor + 1 : (i + 1) * factor] = mids
        if progress is not None:
            progress.step(i + 1, t - 1)
    out[-1] = frames[-1]
    return out
