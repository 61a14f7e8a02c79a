"""The animatic engine: camera previs on the CPU, with no model weights.

It moves a virtual camera over a still (the input image, or a title card drawn from the
prompt) so a user can judge framing, timing and camera motion in a second before spending
GPU minutes on the real thing. The result is labelled as an animatic, never as AI video.

Conventions, in output-frame terms (x right, y down):

- pan_left: the camera turns left, so the scene slides right; pan_right the opposite.
- tilt_up: the camera looks up, so the scene slides down; tilt_down the opposite.
- zoom_in / dolly_in: the scene grows; zoom_out / dolly_out: it shrinks. A dolly adds a
  mild perspective tilt and a travel-like speed curve so it reads differently from a zoom.
- crane_up: the camera rises, so the scene slides down and recedes slightly.
- orbit: the camera circles to the right; the scene turns like a card and slides left.
- tracking: the camera travels right alongside the subject; the scene slides left.
- handheld: small smooth shake (translation and roll), seeded by the request's seed.
- drone: the camera flies forward and rises with a slight bank.

OpenCV and Pillow are imported inside functions so that reading capabilities stays cheap
for the web process.
"""

from __future__ import annotations

import colorsys
import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from generation.longvideo import MAX_LONG_SECONDS
from generation.prompting import camera_motion_for
from generation.spec import (
    Capabilities,
    GenerationError,
    GenerationRequest,
    Progress,
    VideoResult,
    check_cancel,
)

BATCH = 8
"""Frames rendered between progress reports and cancel checks."""

PYRAMID_STEP = 1.25
"""Ratio between canvas levels; bilinear sampling stays alias-free within this ratio."""

NOTE = "Animatic: camera previs, not AI video"

# Columns of a camera path: dx (fraction of output width), dy (fraction of output height),
# zoom (1 = the still just covers the frame), roll, yaw and pitch (degrees).
DX, DY, ZOOM, ROLL, YAW, PITCH = range(6)


def _ease(t: np.ndarray) -> np.ndarray:
    """Ease in and out (cubic) so moves start and stop like a real camera operator's."""
    return np.where(t < 0.5, 4 * t**3, 1 - (-2 * t + 2) ** 3 / 2)


def camera_path(motion: str, num_frames: int, *, fps: float, seed: int) -> np.ndarray:
    """Return the (num_frames, 6) camera parameters for `motion`, one row per frame.

    Every translation stays within the slack that the zoom leaves around the frame, so
    the camera never looks past the edge of the still.
    """
    motion = camera_motion_for(motion).id
    n = num_frames
    t = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
    e = _ease(t)
    p = np.zeros((n, 6))
    p[:, ZOOM] = 1.0

    def lerp(a: float, b: float, s: np.ndarray = e) -> np.ndarray:
        return a + (b - a) * s

    if motion in ("pan_left", "pan_right"):
        sign = 1 if motion == "pan_left" else -1
        p[:, ZOOM] = 1.32
        p[:, DX] = sign * lerp(-0.15, 0.15)
    elif motion in ("tilt_up", "tilt_down"):
        sign = 1 if motion == "tilt_up" else -1
        p[:, ZOOM] = 1.32
        p[:, DY] = sign * lerp(-0.15, 0.15)
    elif motion == "zoom_in":
        p[:, ZOOM] = lerp(1.0, 1.5)
    elif motion == "zoom_out":
        p[:, ZOOM] = lerp(1.5, 1.0)
    elif motion in ("dolly_in", "dolly_out"):
        # Apparent size grows as 1/distance while the camera travels: slow, then faster.
        s = e if motion == "dolly_in" else 1 - e
        p[:, ZOOM] = 1.04 / (1 - 0.3 * s)
        p[:, PITCH] = 5.0 * s
        p[:, DY] = -0.02 * s
    elif motion == "orbit":
        p[:, ZOOM] = 1.4
        p[:, DX] = lerp(0.09, -0.09)
        p[:, YAW] = lerp(-9.0, 9.0)
    elif motion in ("crane_up", "crane_down"):
        s = e if motion == "crane_up" else 1 - e
        p[:, ZOOM] = 1.45 - 0.1 * s
        p[:, DY] = -0.13 + 0.26 * s
        p[:, PITCH] = -4.0 + 8.0 * s
    elif motion == "tracking":
        # Dollies on track keep a steady speed: only a light ease at both ends.
        s = 0.4 * t + 0.6 * e
        p[:, ZOOM] = 1.38
        p[:, DX] = lerp(0.15, -0.15, s)
        p[:, YAW] = lerp(3.0, 6.0, s)
    elif motion == "handheld":
        seconds = np.arange(n) / fps
        rng = np.random.default_rng([abs(seed), 0x4A11D])
        p[:, ZOOM] = 1.07

        def wobble(amplitude: float) -> np.ndarray:
            freqs = np.array([0.31, 0.73, 1.47]) * rng.uniform(0.8, 1.25, 3)
            weights = np.array([1.0, 0.5, 0.25])
            phases = rng.uniform(0, 2 * np.pi, 3)
            waves = np.sin(2 * np.pi * freqs[:, None] * seconds[None, :] + phases[:, None])
            return amplitude * (weights @ waves) / weights.sum()

        p[:, DX] = wobble(0.014)
        p[:, DY] = wobble(0.012)
        p[:, ROLL] = wobble(0.7)
    elif motion == "drone":
        p[:, ZOOM] = lerp(1.18, 1.5)
        p[:, DY] = lerp(-0.05, 0.07)
        p[:, ROLL] = lerp(-2.0, 2.0)
        p[:, PITCH] = lerp(-3.0, 3.0)
    return p


def _tilt(yaw: float, pitch: float, focal: float) -> np.ndarray:
    """Return the homography that turns the still like a card seen by a fixed camera.

    In centred coordinates: a point (x, y) on the card, rotated by yaw about the vertical
    axis and pitch about the horizontal one at distance `focal`, projects back to the frame.
    Positive yaw brings the right edge closer; positive pitch brings the top closer.
    """
    a, b = math.radians(yaw), math.radians(pitch)
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    r = ry @ rx
    card = np.column_stack([r[:, 0], r[:, 1], [0.0, 0.0, focal]])
    return np.diag([focal, focal, 1.0]) @ card / focal


def frame_matrix(
    row: np.ndarray, *, out_size: tuple[int, int], src_size: tuple[int, int]
) -> np.ndarray:
    """Return the 3×3 matrix from source-canvas pixels to output pixels for one frame.

    The source may be any level of the canvas pyramid: at zoom 1 its whole area maps
    onto the frame, whatever its resolution.
    """
    w, h = out_size
    sw, sh = src_size

    def move(x: float, y: float) -> np.ndarray:
        return np.array([[1.0, 0, x], [0, 1.0, y], [0, 0, 1.0]])

    sx, sy = row[ZOOM] * w / sw, row[ZOOM] * h / sh
    c, s = math.cos(math.radians(row[ROLL])), math.sin(math.radians(row[ROLL]))
    scale = np.array([[sx, 0, 0], [0, sy, 0], [0, 0, 1.0]])
    roll = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    tilt = _tilt(row[YAW], row[PITCH], 1.1 * max(w, h))
    return (
        move((w - 1) / 2, (h - 1) / 2)
        @ tilt
        @ move(row[DX] * w, row[DY] * h)
        @ roll
        @ scale
        @ move(-(sw - 1) / 2, -(sh - 1) / 2)
    )


def _font(size: int, font_path: str | None) -> Any:
    from PIL import ImageFont

    if font_path:
        return ImageFont.truetype(font_path, size)
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):
        # Pillow without FreeType: a small bitmap font still beats no text.
        return ImageFont.load_default()


def _wrap(text: str, font: Any, max_width: float) -> list[str]:
    """Greedy word wrap by rendered width, so lines fit whatever the font."""
    lines: list[str] = []
    for paragraph in text.splitlines():
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if line and font.getlength(candidate) > max_width:
                lines.append(line)
                line = word
            else:
                line = candidate
        if line:
            lines.append(line)
    return lines


BACKDROP_SHORT_SIDE = 720
"""The soft backdrop is drawn at most this tall (short side) and scaled up; it is all blur."""


def title_card(
    prompt: str, width: int, height: int, *, seed: int, font_path: str | None = None
) -> np.ndarray:
    """Draw a (height, width, 3) title card: seeded gradient, bokeh, grid and the prompt.

    The bokeh and the faint grid give the camera something to move against; a flat
    background would make pans and zooms invisible except for the text. Only the text
    needs full resolution, so the soft backdrop is drawn smaller and scaled up, which
    keeps a 1080p clip's 1.5× canvas well under a second.
    """
    import cv2

    factor = min(1.0, BACKDROP_SHORT_SIDE / min(width, height))
    small = (max(1, round(width * factor)), max(1, round(height * factor)))
    card = _backdrop(*small, seed=seed)
    if small != (width, height):
        card = cv2.resize(card, (width, height), interpolation=cv2.INTER_LINEAR)
    text = " ".join(prompt.split())
    if text:
        _draw_text(card, text, font_path=font_path)
    return card


def _backdrop(width: int, height: int, *, seed: int) -> np.ndarray:
    """Draw the seeded gradient with vignette, faint grid and soft bokeh circles."""
    import cv2
    from PIL import Image, ImageDraw

    rng = np.random.default_rng([abs(seed), 0x717CA4D])
    hue = rng.random()
    dark = np.array(colorsys.hsv_to_rgb(hue, 0.6, 0.16), dtype=np.float32) * 255
    light = (
        np.array(
            colorsys.hsv_to_rgb((hue + rng.uniform(0.06, 0.2)) % 1, 0.55, 0.5), dtype=np.float32
        )
        * 255
    )
    angle = rng.uniform(0, 2 * np.pi)
    u = (np.arange(width, dtype=np.float32) / width - 0.5)[None, :]
    v = (np.arange(height, dtype=np.float32) / height - 0.5)[:, None]
    g = np.clip(0.5 + (u * math.cos(angle) + v * math.sin(angle)) * 1.2, 0, 1)[..., None]
    vignette = (1 - 0.9 * (u**2 + v**2))[..., None]
    card = (dark + (light - dark) * g) * vignette

    short = min(width, height)
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    step, line = max(8, round(short / 9)), max(1, short // 400)
    for x in range(step // 2, width, step):
        draw.line([(x, 0), (x, height)], fill=(255, 255, 255, 14), width=line)
    for y in range(step // 2, height, step):
        draw.line([(0, y), (width, y)], fill=(255, 255, 255, 14), width=line)
    for _ in range(int(rng.integers(18, 30))):
        r = short * rng.uniform(0.02, 0.1)
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        tint = colorsys.hsv_to_rgb((hue + rng.uniform(-0.12, 0.12)) % 1, 0.35, 1.0)
        rgb = tuple(int(255 * c) for c in tint)
        alpha = int(rng.uniform(20, 70))
        draw.ellipse(
            [cx - r, cy - r, cx + r, cy + r],
            fill=(*rgb, alpha),
            outline=(*rgb, min(255, alpha * 2)),
            width=max(1, round(r / 12)),
        )
    # Blur premultiplied colour so soft edges fade into the background, not to black.
    layer: np.ndarray = np.asarray(overlay, dtype=np.float32)
    coverage = layer[..., 3:] / 255
    layer = np.concatenate([layer[..., :3] * coverage, coverage], axis=2)
    layer = cv2.GaussianBlur(layer, (0, 0), max(0.5, short / 300))
    card = card * (1 - layer[..., 3:]) + layer[..., :3]
    return np.clip(card, 0, 255).astype(np.uint8)


def _draw_text(card: np.ndarray, text: str, *, font_path: str | None) -> None:
    """Centre `text` on `card` (in place) with a soft shadow, where every move keeps it."""
    import cv2
    from PIL import Image, ImageDraw

    height, width = card.shape[:2]
    portrait = height > width
    max_width, max_lines = (0.62, 8) if portrait else (0.5, 5)
    max_width *= width
    short = min(width, height)
    size = max(10, round(short * 0.068))
    while True:
        font = _font(size, font_path)
        lines = _wrap(text, font, max_width)
        if len(lines) <= max_lines or size <= max(10, short * 0.035):
            break
        size = round(size * 0.88)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + " …") > max_width:
            last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
        lines[-1] = last + " …"

    leading = round(size * 1.3)
    top = (height - leading * len(lines)) / 2
    placed = [
        ((width - font.getlength(ln)) / 2, top + i * leading, ln) for i, ln in enumerate(lines)
    ]

    # The shadow only darkens around the text, so blur just that region.
    offset, sigma = max(1, size // 16), size / 10
    mask = Image.new("L", (width, height), 0)
    shade = ImageDraw.Draw(mask)
    for x, y, ln in placed:
        shade.text((x + offset, y + offset), ln, font=font, fill=255)
    box = mask.getbbox()
    if box:
        pad = math.ceil(3 * sigma)
        x0, y0 = max(0, box[0] - pad), max(0, box[1] - pad)
        x1, y1 = min(width, box[2] + pad), min(height, box[3] + pad)
        crop = np.asarray(mask.crop((x0, y0, x1, y1)), dtype=np.float32) / 255
        shadow = cv2.GaussianBlur(crop, (0, 0), sigma)[..., None]
        region = card[y0:y1, x0:x1]
        region[:] = (region * (1 - 0.65 * shadow)).astype(np.uint8)

    image = Image.fromarray(card)
    draw = ImageDraw.Draw(image)
    for x, y, ln in placed:
        draw.text((x, y), ln, font=font, fill=(250, 246, 238))
    rule_y = top - leading * 0.45
    draw.line(
        [(width / 2 - size, rule_y), (width / 2 + size, rule_y)],
        fill=(200, 196, 190),
        width=max(1, size // 14),
    )
    card[:] = np.asarray(image)


MAX_FRAME_BYTES = 8 * 2**30
"""The clip is held in memory: two minutes fit up to about 720p at 24 fps."""


def _paced_path(
    motion: str, n: int, *, fps: float, seed: int, options: Mapping[str, Any]
) -> np.ndarray:
    """The camera path at the requested speed: slower covers part of the move, faster
    completes it early and holds the last framing (the camera never leaves the still)."""
    speed = float(options.get("camera_speed", 1.0))
    if not 0.1 <= speed <= 10:
        raise GenerationError("camera_speed must be 0.1–10.", field="options")
    span = max(1, round(n / speed))
    path = camera_path(motion, span, fps=fps, seed=seed)
    if span >= n:
        return path[:n]
    return np.concatenate([path, np.repeat(path[-1:], n - span, axis=0)])


class AnimaticEngine:
    """Render camera motion over a still; fast, deterministic, and honest about it."""

    label = "Animatic (camera previs)"

    def __init__(self, *, engine_id: str = "animatic", font_path: str | None = None, **_: Any):
        if font_path and not Path(font_path).is_file():
            raise GenerationError(f"The animatic font {font_path} does not exist.")
        self.id = engine_id
        self.font_path = font_path
        self.capabilities = Capabilities(
            modes=frozenset({"text_to_video", "image_to_video"}),
            min_size=64,
            max_size=1920,
            size_multiple=8,
            min_frames=1,
            max_frames=MAX_LONG_SECONDS * 60,  # Two minutes at any frame rate it offers.
            min_fps=4,
            max_fps=60,
            default_fps=24,
            needs_gpu=False,
        )
        # The form rounds sizes to multiples of 8 (so 1920×1080 and 1280×720 are exact), but
        # the renderer only needs even sizes (for yuv420 encoding), so scripts may ask for any.
        self._render_limits = dataclasses.replace(self.capabilities, size_multiple=2)

    def generate(self, request: GenerationRequest, progress: Progress) -> VideoResult:
        import cv2

        self._render_limits.validate(request, engine_label=self.label)
        r = request
        motion = r.camera_motion or "static"
        path = _paced_path(motion, r.num_frames, fps=r.fps, seed=r.seed, options=r.options)
        w, h, n = r.width, r.height, r.num_frames

        top = max(1.0, float(path[:, ZOOM].max()))
        size = (round(w * top), round(h * top))
        if r.image_path:
            from generation.video import load_image

            canvas = load_image(r.image_path, *size)
            source = "image"
        else:
            canvas = title_card(r.prompt, *size, seed=r.seed, font_path=self.font_path)
            source = "title_card"

        # A small pyramid keeps every frame's downsampling within PYRAMID_STEP, so fine
        # detail (text, grid lines) does not shimmer as the camera zooms.
        levels = [(top, canvas)]
        while levels[-1][0] / PYRAMID_STEP >= 1.0:
            scale = levels[-1][0] / PYRAMID_STEP
            dims = (round(w * scale), round(h * scale))
            levels.append((scale, cv2.resize(canvas, dims, interpolation=cv2.INTER_AREA)))
        if levels[-1][0] > 1.0:
            levels.append((1.0, cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA)))

        if n * h * w * 3 > MAX_FRAME_BYTES:
            raise GenerationError(
                f"{n} frames at {w}×{h} need {n * h * w * 3 / 2**30:.1f} GB in memory; the "
                f"animatic holds at most {MAX_FRAME_BYTES / 2**30:.0f} GB. Choose a smaller "
                "size or a lower frame rate.",
                field="num_frames",
            )
        frames = np.empty((n, h, w, 3), dtype=np.uint8)
        identity = not path[:, [DX, DY, ROLL, YAW, PITCH]].any() and (path[:, ZOOM] == 1).all()
        for start in range(0, n, BATCH):
            check_cancel(progress)
            stop = min(n, start + BATCH)
            for i in range(start, stop):
                if identity:
                    frames[i] = levels[-1][1]
                    continue
                row = path[i]
                src = next((img for s, img in reversed(levels) if s >= row[ZOOM] * 0.98), canvas)
                matrix = frame_matrix(row, out_size=(w, h), src_size=(src.shape[1], src.shape[0]))
                cv2.warpPerspective(
                    src,
                    matrix,
                    (w, h),
                    dst=frames[i],
                    flags=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REFLECT_101,
                )
            progress.step(stop, n, preview=frames[stop - 1])

        return VideoResult(
            frames=frames,
            fps=r.fps,
            notes=[NOTE],
            info={"camera_motion": motion, "source": source},
        )
