"""Prompt presets: camera motions, visual styles, aspect ratios, and the final prompt text.

Video models follow plain descriptive language far better than tags, so each preset carries
a phrase written the way the models' training captions describe shots ("the camera pans
slowly to the left"). The web side offers the ids as choices; engines receive the composed
text from `compose_prompt` and `compose_negative`.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

from generation.spec import GenerationError


@dataclass(frozen=True)
class CameraMotion:
    """A camera move: `phrase` is how a caption would describe it to a video model."""

    id: str
    label: str
    phrase: str


@dataclass(frozen=True)
class StylePreset:
    """A look: `phrase` joins the prompt, `negative` names what would break the look."""

    id: str
    label: str
    phrase: str
    negative: str


_CAMERA_MOTION_LIST = (
    CameraMotion(
        "static", "Static", "static shot, the camera is locked off on a tripod and stays still"
    ),
    CameraMotion("pan_left", "Pan left", "the camera pans slowly to the left"),
    CameraMotion("pan_right", "Pan right", "the camera pans slowly to the right"),
    CameraMotion("tilt_up", "Tilt up", "the camera tilts slowly upward"),
    CameraMotion("tilt_down", "Tilt down", "the camera tilts slowly downward"),
    CameraMotion("zoom_in", "Zoom in", "the camera slowly zooms in on the subject"),
    CameraMotion("zoom_out", "Zoom out", "the camera slowly zooms out to reveal the scene"),
    CameraMotion(
        "dolly_in", "Dolly in", "the camera dollies in, moving steadily toward the subject"
    ),
    CameraMotion(
        "dolly_out", "Dolly out", "the camera dollies out, moving steadily away from the subject"
    ),
    CameraMotion("orbit", "Orbit", "the camera orbits around the subject in a smooth arc"),
    CameraMotion("crane_up", "Crane up", "crane shot, the camera rises smoothly upward"),
    CameraMotion("crane_down", "Crane down", "crane shot, the camera descends smoothly"),
    CameraMotion(
        "tracking",
        "Tracking",
        "tracking shot, the camera moves sideways alongside the subject",
    ),
    CameraMotion("handheld", "Handheld", "handheld camera with subtle natural shake"),
    CameraMotion(
        "drone",
        "Drone",
        "aerial drone shot, the camera flies forward and rises over the scene",
    ),
)
CAMERA_MOTIONS: dict[str, CameraMotion] = {m.id: m for m in _CAMERA_MOTION_LIST}

_STYLE_PRESET_LIST = (
    StylePreset(
        "cinematic",
        "Cinematic",
        "cinematic film still, dramatic lighting, shallow depth of field, color graded, "
        "anamorphic lens",
        "flat lighting, amateur footage, oversaturated, low resolution",
    ),
    StylePreset(
        "photoreal",
        "Photoreal",
        "photorealistic, natural lighting, highly detailed, sharp focus, realistic textures",
        "cartoon, illustration, painting, cgi, plastic skin, deformed",
    ),
    StylePreset(
        "documentary",
        "Documentary",
        "documentary footage, natural available light, observational, authentic, realistic color",
        "stylized, cartoon, cgi, staged, over-processed",
    ),
    StylePreset(
        "film_35mm",
        "35mm film",
        "shot on 35mm film, natural film grain, soft highlights, warm analog color",
        "digital look, oversharpened, clean digital noise, hdr",
    ),
    StylePreset(
        "noir",
        "Film noir",
        "black and white film noir, high contrast, hard shadows, low-key lighting, "
        "venetian blind light",
        "color, colorful, saturated, flat lighting",
    ),
    StylePreset(
        "anime",
        "Anime",
        "anime style, cel shading, clean line art, vibrant colors, hand-drawn animation",
        "photorealistic, 3d render, live action, blurry lines",
    ),
    StylePreset(
        "pixel_art",
        "Pixel art",
        "pixel art, 16-bit retro video game style, limited color palette, crisp pixels",
        "blurry, smooth gradients, photorealistic, anti-aliasing",
    ),
    StylePreset(
        "claymation",
        "Claymation",
        "claymation, stop-motion animation, handmade clay figures, visible fingerprints, "
        "miniature set",
        "photorealistic, live action, 2d, smooth cgi",
    ),
    StylePreset(
        "watercolor",
        "Watercolor",
        "watercolor painting, soft washes of color, paper texture, bleeding edges",
        "photorealistic, hard edges, 3d render, harsh contrast",
    ),
    StylePreset(
        "vhs",
        "VHS home video",
        "1990s VHS home video, tape noise, chromatic bleeding, soft focus, timestamp look",
        "crisp, 4k, modern digital, hdr",
    ),
)
STYLE_PRESETS: dict[str, StylePreset] = {s.id: s for s in _STYLE_PRESET_LIST}

ASPECT_RATIOS: dict[str, tuple[int, int]] = {
    "16:9": (16, 9),
    "9:16": (9, 16),
    "1:1": (1, 1),
    "4:5": (4, 5),
    "21:9": (21, 9),
}


def size_for(aspect: str, *, long_side: int, multiple: int = 16) -> tuple[int, int]:
    """Return (width, height) for `aspect` with the longer side near `long_side`.

    Both sides are rounded to `multiple` because video models (and the animatic's encoder)
    need dimensions divisible by their patch/macroblock size.
    """
    try:
        rw, rh = ASPECT_RATIOS[aspect]
    except KeyError:
        known = ", ".join(ASPECT_RATIOS)
        raise GenerationError(
            f"Unknown aspect ratio {aspect!r}; choose one of: {known}.", field="aspect_ratio"
        ) from None
    if multiple < 1 or long_side < multiple:
        raise GenerationError(
            f"The long side must be at least {max(multiple, 1)}px; got {long_side}px.",
            field="size",
        )

    def snap(value: float) -> int:
        return max(multiple, math.floor(value / multiple + 0.5) * multiple)

    if rw >= rh:
        return snap(long_side), snap(long_side * rh / rw)
    return snap(long_side * rw / rh), snap(long_side)


def camera_motion_for(camera_motion: str) -> CameraMotion:
    """The preset named `camera_motion` (blank is static); raise GenerationError if unknown."""
    try:
        return CAMERA_MOTIONS[camera_motion or "static"]
    except KeyError:
        known = ", ".join(CAMERA_MOTIONS)
        raise GenerationError(
            f"Unknown camera motion {camera_motion!r}; choose one of: {known}.",
            field="camera_motion",
        ) from None


def _style(style: str) -> StylePreset | None:
    if not style:
        return None
    try:
        return STYLE_PRESETS[style]
    except KeyError:
        known = ", ".join(STYLE_PRESETS)
        raise GenerationError(
            f"Unknown style {style!r}; choose one of: {known}.", field="style"
        ) from None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def compose_prompt(text: str, *, camera_motion: str = "static", style: str = "") -> str:
    """Return the prompt an engine receives: the user's text, then style, then camera.

    The user's words come first because models weigh early tokens most; the presets follow
    as separate sentences so they read like the captions the models were trained on.
    An empty `camera_motion` means static.
    """
    camera = camera_motion_for(camera_motion)
    preset = _style(style)
    parts = [text.strip().rstrip(".,;: ")]
    if preset:
        parts.append(_sentence(preset.phrase))
    parts.append(_sentence(camera.phrase))
    return ". ".join(p for p in parts if p) + "."


def compose_negative(text: str, *, style: str = "") -> str:
    """Return the negative prompt: the user's terms plus the style's, without repeats."""
    preset = _style(style)
    terms: list[str] = []
    seen: set[str] = set()
    for source in (text, preset.negative if preset else ""):
        for term in source.split(","):
            term = term.strip().rstrip(".")
            if term and term.lower() not in seen:
                seen.add(term.lower())
                terms.append(term)
    return ", ".join(terms)


def random_seed() -> int:
    """Return a fresh seed in [0, 2**31), the range every engine's generator accepts."""
    return secrets.randbelow(2**31)
