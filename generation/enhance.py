"""Frame interpolation on (T, H, W, 3) uint8 frames (upscaling: `upscale.py`).

Interpolation has two motion estimators and, by default (`adaptive`), uses them per pair
of frames. `flow` is OpenCV's DIS optical flow: both neighbours are warped to the
in-between time and blended where their flow is trustworthy, so moving texture stays sharp
instead of ghosting as a plain crossfade does; it is cheap and sharp on smooth motion.
`rife` is a learned interpolator (Practical-RIFE 4.x, `generation.rife`): better on fast
action and where content enters the frame, 4–5× slower than DIS per frame on the CPU
(0.3 s against 0.07 s at 854×480 on 2 cores). `adaptive` estimates from the pair itself
whether DIS is unsure (its crossfade fallback would ghost, or its warped neighbours
disagree), keeps DIS where it is sure and otherwise blends the two per pixel by each
one's warp error (`_adaptive_pair`); on a GPU it blends them on every pair.
`bench/interpolation.py` measures all of them. Other interpolators can be plugged in with
`register_interpolator`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from generation.spec import GenerationError, Progress, check_cancel, check_frames

if TYPE_CHECKING:
    from generation.rife import Rife

INTERPOLATION_FACTORS = (2, 3, 4)

DEFAULT_INTERPOLATION = "adaptive"
LEARNED_METHODS = ("adaptive", "rife")
"""Methods that need the RIFE weights; without them they run `flow` and say so."""

METHOD_LABELS = {
    "adaptive": "adaptive: DIS optical flow, blended with RIFE where the flow is unsure",
    "rife": "RIFE",
    "flow": "DIS optical flow",
    "blend": "crossfade",
    "duplicate": "repeated frames",
}

Interpolator = Callable[[np.ndarray, np.ndarray, Sequence[float]], np.ndarray]
"""Make in-between frames: (frame0, frame1, times in (0, 1)) -> (len(times), H, W, 3) uint8."""

PairMaker = Callable[[np.ndarray, np.ndarray, Sequence[float]], tuple[np.ndarray, str]]
"""Like `Interpolator`, also naming what made the frames: "flow", "rife", "cut" (held), ..."""

_INTERPOLATORS: dict[str, Interpolator] = {}


def register_interpolator(name: str, fn: Interpolator) -> None:
    """Make `fn` available as `interpolate(..., method=name)`, e.g. a FILM model."""
    _INTERPOLATORS[name] = fn


def interpolators() -> list[str]:
    return sorted({*_INTERPOLATORS, *LEARNED_METHODS})


@dataclass(frozen=True)
class InterpolationInfo:
    """How a clip was interpolated, so the result can say so honestly.

    `choices` names, per pair of source frames, what made its in-between frames: "flow"
    (DIS), "rife", "cut" (a scene cut, held rather than morphed), "blend" (frames too small
    for optical flow) or a registered interpolator's name. `note` says why RIFE could not
    be used when it was asked for and could not.
    """

    method: str
    choices: tuple[str, ...]
    note: str = ""

    @property
    def rife_share(self) -> float:
        return self.choices.count("rife") / max(len(self.choices), 1)

    @property
    def used(self) -> str:
        """The method that ran: `flow` when RIFE was asked for and could not load."""
        return "flow" if self.note else self.method

    @property
    def summary(self) -> str:
        """The method in words, with how many pairs went to RIFE when that varies."""
        label = METHOD_LABELS.get(self.used, self.used)
        if self.used == "adaptive":
            label += f"; RIFE on {self.choices.count('rife')} of {len(self.choices)} frame pairs"
        return label


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


MIN_FLOW_SIDE = 16
"""DIS needs a few 8-px patches to estimate anything; smaller frames are crossfaded."""


@dataclass
class _Flow:
    """DIS flow both ways between two frames, and how far to trust it.

    Flow F01 maps frame 0 to frame 1 (f0(x) ~ f1(x + F01(x))), F10 the reverse. A flow
    vector is trusted (`conf` near 1) when going there and back lands where it started.
    """

    f0: np.ndarray
    f1: np.ndarray
    flow01: np.ndarray
    flow10: np.ndarray
    conf01: np.ndarray
    conf10: np.ndarray
    gx: np.ndarray
    gy: np.ndarray
    cut: bool

    def sample(self, img: np.ndarray, flow: np.ndarray, s: float) -> np.ndarray:
        """`img` at x + s·flow(x), bilinear, edges replicated."""
        import cv2

        return cv2.remap(
            img,
            self.gx + s * flow[..., 0],
            self.gy + s * flow[..., 1],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )

    def inside(self, flow: np.ndarray, s: float) -> np.ndarray:
        """1 where x + s·flow(x) falls inside the frame: a warp from outside is not trusted."""
        h, w = flow.shape[:2]
        x = self.gx + s * flow[..., 0]
        y = self.gy + s * flow[..., 1]
        return ((x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)).astype(np.float32)

    def trust(self, t: float) -> np.ndarray:
        """How far the warp to time t can be trusted per pixel: the better side's consistency."""
        c0 = self.conf10 * self.inside(self.flow10, t)
        c1 = self.conf01 * self.inside(self.flow01, 1.0 - t)
        return np.maximum(c0, c1)

    def warps(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Both neighbours warped to time t (float RGB) and the trust in each warp.

        The pixel at x of the in-between frame at time t is approximated by f0(x + t·F10(x))
        and f1(x + (1-t)·F01(x)); a warp is trusted where its flow is consistent and lands
        inside the frame.
        """
        warp0 = self.sample(self.f0.astype(np.float32), self.flow10, t)
        warp1 = self.sample(self.f1.astype(np.float32), self.flow01, 1.0 - t)
        c0 = self.conf10 * self.inside(self.flow10, t)
        c1 = self.conf01 * self.inside(self.flow01, 1.0 - t)
        return warp0, warp1, c0, c1

    def render(self, times: Sequence[float]) -> np.ndarray:
        """Warp both neighbours to each time and blend them by flow consistency.

        Where neither side is trusted the pixel falls back to the plain crossfade, which
        never invents structure.
        """
        return np.clip(np.rint(self.render_float(times)), 0, 255).astype(np.uint8)

    def render_float(self, times: Sequence[float]) -> np.ndarray:
        """`render` unrounded: (len(times), H, W, 3) float32."""
        h, w = self.f0.shape[:2]
        a, b = self.f0.astype(np.float32), self.f1.astype(np.float32)
        out = np.empty((len(times), h, w, 3), np.float32)
        for k, t in enumerate(times):
            warp0, warp1, c0, c1 = self.warps(t)
            w0, w1 = (1.0 - t) * c0, t * c1
            warped = (w0[..., None] * warp0 + w1[..., None] * warp1) / np.maximum(w0 + w1, 1e-6)[
                ..., None
            ]
            trust = np.maximum(c0, c1)[..., None]
            out[k] = trust * warped + (1.0 - trust) * (a * (1.0 - t) + b * t)
        return out

    def warp_error(self, t: float) -> np.ndarray:
        """Per pixel, how far apart the two warped neighbours land at time t (grey levels).

        Where the flow is right both warps show the same scene point, so this photometric
        error, measured without the in-between frame, is small where DIS is right.
        """
        warp0, warp1 = self.warps(t)[:2]
        return np.abs(warp0 - warp1).mean(axis=-1)


def _dis_flow(f0: np.ndarray, f1: np.ndarray) -> _Flow:
    import cv2

    h, w = f0.shape[:2]
    g0 = cv2.cvtColor(f0, cv2.COLOR_RGB2GRAY)
    g1 = cv2.cvtColor(f1, cv2.COLOR_RGB2GRAY)
    dis = _dis()
    flow01 = dis.calc(g0, g1, None)
    flow10 = dis.calc(g1, g0, None)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    fl = _Flow(f0, f1, flow01, flow10, flow01, flow10, gx, gy, cut=False)

    def consistency(fwd: np.ndarray, bwd: np.ndarray) -> np.ndarray:
        # |fwd(x) + bwd(x + fwd(x))| is ~0 where the pixel is visible in both frames.
        err = np.linalg.norm(fwd + fl.sample(bwd, fwd, 1.0), axis=-1)
        tol = 0.5 + 0.05 * np.linalg.norm(fwd, axis=-1)
        conf = 1.0 / (1.0 + (err / tol) ** 2)
        return cv2.GaussianBlur(conf, (5, 5), 0)

    fl.conf01 = consistency(flow01, flow10)  # trust in F01, used to warp frame 1
    fl.conf10 = consistency(flow10, flow01)  # trust in F10, used to warp frame 0
    fl.cut = _is_cut(g0, fl.sample(g1, flow01, 1.0), fl.conf01)
    return fl


def _flow_pair(f0: np.ndarray, f1: np.ndarray, times: Sequence[float]) -> tuple[np.ndarray, str]:
    """DIS flow interpolation; a pair that straddles a scene cut is held, not blended."""
    if min(f0.shape[:2]) < MIN_FLOW_SIDE:
        return _blend(f0, f1, times), "blend"
    fl = _dis_flow(f0, f1)
    if fl.cut:
        # Across a scene cut nothing moves from one frame to the other: a blend would show
        # a double exposure, so hold each side of the cut instead.
        return _duplicate(f0, f1, times), "cut"
    return fl.render(times), "flow"


def _flow_interpolate(f0: np.ndarray, f1: np.ndarray, times: Sequence[float]) -> np.ndarray:
    """Warp both neighbours to each time with DIS flow and blend them by flow consistency."""
    return _flow_pair(f0, f1, times)[0]


def _rife_pair(
    model: Rife, f0: np.ndarray, f1: np.ndarray, times: Sequence[float]
) -> tuple[np.ndarray, str]:
    """RIFE everywhere, except across a scene cut (told by DIS, as for `flow`): held."""
    if min(f0.shape[:2]) >= MIN_FLOW_SIDE and _dis_flow(f0, f1).cut:
        return _duplicate(f0, f1, times), "cut"
    return model(f0, f1, times), "rife"


GHOSTING_THRESHOLD = 1.5
"""Grey levels (RMS): above this estimated ghosting (`_ghosting`) the CPU runs RIFE.

Ghosting alone at 1.5 would hold DIS near 44.6 dB PSNR. Tuned on 420 frame pairs (eight
two-second stretches of Big Buck Bunny, among them its fast action, its fade-in and a
near-still shot, and the bench's four photo clips, each at ×2 and ×4): RIFE then ran on
30 % of the pairs of ordinary footage and on most of the fast action, pans and rotation,
for 2.3 of the 2.35 dB (mean over clips) that running it on every pair gained there. The
root mean square caught a small fast object in a still shot that the mean missed.
"""

WARP_ERROR_THRESHOLD = 1.5
"""Grey levels (RMS): above this photometric error of DIS's warped neighbours at the
midpoint, where both warps are trusted (`_warp_error`), the CPU runs RIFE.

The ghosting estimate only sees where the flow is inconsistent; a consistent flow can still
be imprecise. On slow pans of Big Buck Bunny (3 px a frame, consistent everywhere) the
trusted warps were 1.7–2.5 levels apart and RIFE beat DIS by 0.6 dB on every pair, which
ghosting missed; on the photo pans, where DIS's warps are exact, they agree to 0.1–1.3
levels (what is left there is content entering at the edges, which ghosting sees).
Grain makes even exact warps disagree, so the threshold rises to the frames' noise level
(`_noise_level`): on photo pans with added Gaussian noise (σ 2–4) the warps were 1.1–1.2 σ
apart, DIS still beat RIFE by 0.2–2.4 dB, and the noise estimate (≥ 1.1 σ) keeps DIS.
"""

BLEND_SIGMA = 8.0
"""Pixels: the neighbourhood (Gaussian σ) over which each method's warp error is pooled."""

RIFE_ERROR_SCALE = 0.7
"""RIFE's two warps disagree more than DIS's for the same quality (its mask picks between
them where DIS averages them): on slow Big Buck Bunny pans, where RIFE was 0.6 dB better,
its warps were twice as far apart. Its warp error is scaled by this before the comparison."""

CROSSFADE_ERROR_SCALE = 0.7
"""Where DIS does not trust its flow it shows the crossfade, whose error is taken as this
times |f0 - f1|: at most half of it where the true pixel is one of the two, more where
both are wrong. At 1 the blend preferred RIFE on the fastest, blurred motion (the bird
taking off, 60–110 px a frame), where RIFE invents wrong detail and the crossfade is the
safer guess (0.3 dB lost at ×4); at 0.5 it lost the pans' entering edges to the crossfade."""

BLEND_FLOOR = 9.0
"""Squared grey levels added to both errors, so where both warps agree (noise level) the
two methods are averaged rather than one picked on noise."""


TEXTURE_GRADIENT = 2.0
"""Grey levels per pixel: below this local gradient a region is flat, and a crossfade of
it cannot ghost (it is even right for a fade), so RIFE is not needed there."""


def _texture(f0: np.ndarray, f1: np.ndarray) -> np.ndarray:
    """Per pixel in [0, 1): how much structure either frame has nearby (0 on flat areas)."""
    import cv2

    grads = []
    for frame in (f0, f1):
        g = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
        gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) / 8.0
        gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) / 8.0
        grads.append(np.sqrt(gx * gx + gy * gy))
    g2 = cv2.GaussianBlur(np.maximum(*grads), (0, 0), 3) ** 2
    return g2 / (g2 + TEXTURE_GRADIENT**2)


def _ghosting(fl: _Flow, texture: np.ndarray) -> float:
    """Estimate DIS's error in grey levels (RMS, as PSNR counts it): where its flow is
    untrusted it crossfades, which ghosts by about |f0 - f1| wherever there is texture."""
    change = np.abs(fl.f0.astype(np.float32) - fl.f1).mean(axis=-1)
    ghost = (1.0 - fl.trust(0.5)) * texture * change
    return float(np.sqrt(np.mean(ghost * ghost)))


def _warp_error(fl: _Flow) -> float:
    """How far apart DIS's two warped neighbours land at the midpoint, in grey levels (RMS),
    counted where both warps are trusted: where the flow is consistent but imprecise."""
    c0, c1 = fl.warps(0.5)[2:]
    return float(np.sqrt(np.mean(c0 * c1 * fl.warp_error(0.5) ** 2)))


_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def _noise_level(f0: np.ndarray, f1: np.ndarray) -> float:
    """The frames' noise σ in grey levels, from the median response to a kernel that cancels
    smooth image content (Immerkær's estimator, made robust by the median); texture makes it
    overestimate somewhat (2–3 levels on clean photos, under 1 on Big Buck Bunny)."""
    import cv2

    responses = [
        np.abs(cv2.filter2D(f.astype(np.float32), -1, _NOISE_KERNEL))[1:-1, 1:-1] for f in (f0, f1)
    ]
    # The kernel's response to white noise of σ has σ·6; the median of |N(0, s)| is 0.6745 s.
    return float(np.median(np.stack(responses))) / (0.6745 * 6.0)


def _unsure(fl: _Flow, texture: np.ndarray) -> bool:
    """Whether DIS is unsure of this pair: its crossfade fallback would ghost where the flow
    is inconsistent, or its warped neighbours disagree where it is consistent (by more than
    grain alone would explain)."""
    if _ghosting(fl, texture) > GHOSTING_THRESHOLD:
        return True
    return _warp_error(fl) > max(WARP_ERROR_THRESHOLD, _noise_level(fl.f0, fl.f1))


def _blend_by_warp_error(
    fl: _Flow,
    times: Sequence[float],
    learned: np.ndarray,
    warps0: np.ndarray,
    warps1: np.ndarray,
) -> np.ndarray:
    """Per pixel, DIS's and RIFE's frames weighted inversely to each one's local warp error.

    Each method warps both neighbours to time t; where its warps disagree (photometric
    error, no ground truth needed) it is unsure there. Where DIS does not trust its flow it
    shows the crossfade, whose inputs are |f0 - f1| apart: that, scaled by
    `CROSSFADE_ERROR_SCALE`, is its error there. The errors are squared and pooled over a
    neighbourhood (`BLEND_SIGMA`), RIFE's scaled by `RIFE_ERROR_SCALE`, and each pixel
    takes DIS with weight e_rife / (e_dis + e_rife), both floored by `BLEND_FLOOR`: DIS
    where RIFE tracks worse, RIFE where DIS loses track (fast motion, zoom, content
    entering at the frame's edges), and their mean where both agree, which beat either
    alone on real footage. On fades (both methods' warps disagree by the change in
    brightness) it beat both on 7 of 9 photo fades tried, and lost up to 1.3 dB to DIS on
    the other two.
    """
    import cv2

    dis = fl.render_float(times)
    out = np.empty_like(dis)
    fade = CROSSFADE_ERROR_SCALE * np.abs(fl.f0.astype(np.float32) - fl.f1).mean(axis=-1)
    for k, t in enumerate(times):
        warp0, warp1, c0, c1 = fl.warps(t)
        trust = np.maximum(c0, c1)
        e_dis = trust * np.abs(warp0 - warp1).mean(axis=-1) + (1.0 - trust) * fade
        e_rife = np.abs(warps0[k].astype(np.float32) - warps1[k]).mean(axis=-1)
        e_dis = cv2.GaussianBlur(e_dis * e_dis, (0, 0), BLEND_SIGMA) + BLEND_FLOOR
        e_rife = RIFE_ERROR_SCALE**2 * cv2.GaussianBlur(e_rife * e_rife, (0, 0), BLEND_SIGMA)
        e_rife += BLEND_FLOOR
        w = (e_rife / (e_dis + e_rife))[..., None]
        out[k] = w * dis[k] + (1.0 - w) * learned[k]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _adaptive_pair(
    model: Rife, everywhere: bool, f0: np.ndarray, f1: np.ndarray, times: Sequence[float]
) -> tuple[np.ndarray, str]:
    """DIS where it is sure of itself; elsewhere DIS and RIFE blended per pixel.

    The decision per pair: DIS flow is computed first (it is cheap, and tells a scene cut,
    which is held). Unless RIFE runs `everywhere` (on a GPU), it runs only where DIS is
    unsure (`_unsure`): its crossfade fallback would ghost by more than
    `GHOSTING_THRESHOLD`, or its trusted warped neighbours disagree by more than
    `WARP_ERROR_THRESHOLD` grey levels. When RIFE runs, each pixel weighs the two methods
    by their local warp errors (`_blend_by_warp_error`). Measured by
    `bench/interpolation.py`.
    """
    if min(f0.shape[:2]) < MIN_FLOW_SIDE:
        return _blend(f0, f1, times), "blend"
    fl = _dis_flow(f0, f1)
    if fl.cut:
        return _duplicate(f0, f1, times), "cut"
    if not everywhere and not _unsure(fl, _texture(f0, f1)):
        return fl.render(times), "flow"
    learned, warps0, warps1 = model.with_warps(f0, f1, times)
    return _blend_by_warp_error(fl, times, learned.astype(np.float32), warps0, warps1), "rife"


register_interpolator("flow", _flow_interpolate)
register_interpolator("blend", _blend)
register_interpolator("duplicate", _duplicate)


def _rife_everywhere(model: Rife) -> bool:
    """On a GPU RIFE costs little next to DIS (which runs on the CPU), so it runs on every pair."""
    return model.device != "cpu"


def _pair_maker(
    method: str, rife_weights: str | Path | None, device: str, rife_on_every_pair: bool | None
) -> tuple[PairMaker, str]:
    """The per-pair function for `method`, and a note when RIFE had to be replaced by DIS."""
    if method in LEARNED_METHODS:
        from generation import rife

        try:
            if rife_weights is None:
                raise rife.RifeUnavailable("no RIFE weights are configured")
            model = rife.load(rife_weights, device)
        except rife.RifeUnavailable as exc:
            return _flow_pair, f"{exc}; used optical flow (DIS)."
        if method == "rife":
            return lambda f0, f1, times: _rife_pair(model, f0, f1, times), ""
        everywhere = _rife_everywhere(model) if rife_on_every_pair is None else rife_on_every_pair
        return lambda f0, f1, times: _adaptive_pair(model, everywhere, f0, f1, times), ""
    fn = _INTERPOLATORS[method]
    if fn is _flow_interpolate:
        return _flow_pair, ""
    return lambda f0, f1, times: (fn(f0, f1, times), method), ""


def interpolate_with_info(
    frames: np.ndarray,
    factor: int,
    *,
    method: str = DEFAULT_INTERPOLATION,
    rife_weights: str | Path | None = None,
    device: str = "auto",
    rife_on_every_pair: bool | None = None,
    progress: Progress | None = None,
) -> tuple[np.ndarray, InterpolationInfo]:
    """Insert `factor - 1` frames between every pair; the result has (T-1)·factor+1 frames.

    Play the result at `factor` times the fps to keep the clip's duration. `rife_weights`
    is the RIFE checkpoint the `rife` and `adaptive` methods load (on `device`, "auto":
    CUDA when present); when it is missing they fall back to `flow` and the info says so.
    `rife_on_every_pair` says whether `adaptive` runs RIFE on every pair or only where DIS
    is unsure (None: every pair on a GPU, only where DIS is unsure on the CPU).
    """
    frames = check_frames(frames, what="frames in the clip", field="video_path")
    if factor not in INTERPOLATION_FACTORS:
        allowed = ", ".join(f"×{f}" for f in INTERPOLATION_FACTORS)
        raise GenerationError(
            f"Frame interpolation supports {allowed}; ×{factor} is not one of them.",
            field="scale",
        )
    if method not in _INTERPOLATORS and method not in LEARNED_METHODS:
        known = ", ".join(interpolators())
        raise GenerationError(f"Unknown interpolation method {method!r}; available: {known}.")
    t = frames.shape[0]
    if t < 2:
        raise GenerationError(
            "Frame interpolation needs a clip of at least two frames.", field="video_path"
        )
    pair, note = _pair_maker(method, rife_weights, device, rife_on_every_pair)
    times = [i / factor for i in range(1, factor)]
    out = np.empty(((t - 1) * factor + 1, *frames.shape[1:]), np.uint8)
    choices = []
    for i in range(t - 1):
        if progress is not None:
            check_cancel(progress)
        out[i * factor] = frames[i]
        mids, choice = pair(frames[i], frames[i + 1], times)
        mids = np.asarray(mids)
        if mids.shape != (factor - 1, *frames.shape[1:]) or mids.dtype != np.uint8:
            raise GenerationError(
                f"Interpolator {method!r} returned frames of shape {mids.shape} and dtype "
                f"{mids.dtype}; expected {(factor - 1, *frames.shape[1:])} uint8."
            )
        out[i * factor + 1 : (i + 1) * factor] = mids
        choices.append(choice)
        if progress is not None:
            progress.step(i + 1, t - 1)
    out[-1] = frames[-1]
    return out, InterpolationInfo(method, tuple(choices), note)


def interpolate(
    frames: np.ndarray,
    factor: int,
    *,
    method: str = DEFAULT_INTERPOLATION,
    rife_weights: str | Path | None = None,
    device: str = "auto",
    progress: Progress | None = None,
) -> np.ndarray:
    """Interpolate ×`factor`; see `interpolate_with_info` for the methods and the weights."""
    return interpolate_with_info(
        frames,
        factor,
        method=method,
        rife_weights=rife_weights,
        device=device,
        progress=progress,
    )[0]
