"""Presets for where a video goes (platforms), how a product should feel (moods), and
worked example prompts.

Plain data tables with ids, so the prompt builder, the storyboard export and the API can
all read the same facts. `platform_settings` fits a platform to an engine's Capabilities:
the platform states what it wants, the engine decides what it can make.
"""

from __future__ import annotations

from dataclasses import dataclass

from generation.prompting import ASPECT_RATIOS, CAMERA_MOTIONS, STYLE_PRESETS, Anatomy
from generation.spec import Capabilities, GenerationError


@dataclass(frozen=True)
class PlatformPreset:
    """A destination: its frame shape and size, frame rate and longest accepted video."""

    id: str
    label: str
    aspect_ratio: str
    width: int
    height: int
    fps: int
    max_seconds: float

    @property
    def long_side(self) -> int:
        return max(self.width, self.height)


_PLATFORM_LIST = (
    PlatformPreset("tiktok", "TikTok", "9:16", 1080, 1920, 30, 15),
    PlatformPreset("instagram_reel", "Instagram Reel", "9:16", 1080, 1920, 30, 30),
    PlatformPreset("youtube_short", "YouTube Short", "9:16", 1080, 1920, 30, 60),
    PlatformPreset("x_video", "X (Twitter) video", "16:9", 1920, 1080, 30, 30),
    PlatformPreset("feed_square", "Feed post 1:1", "1:1", 1080, 1080, 30, 60),
    PlatformPreset("feed_portrait", "Feed post 4:5", "4:5", 1080, 1350, 30, 60),
)
PLATFORMS: dict[str, PlatformPreset] = {p.id: p for p in _PLATFORM_LIST}


def platform_for(platform_id: str) -> PlatformPreset:
    try:
        return PLATFORMS[platform_id]
    except KeyError:
        known = ", ".join(PLATFORMS)
        raise GenerationError(
            f"Unknown platform {platform_id!r}; choose one of: {known}.", field="platform"
        ) from None


@dataclass(frozen=True)
class PlatformSettings:
    """A platform's wishes as this engine can meet them; `notes` say what was reduced."""

    aspect_ratio: str
    resolution: int
    fps: int
    max_seconds: float
    notes: tuple[str, ...] = ()


def platform_settings(platform_id: str, capabilities: Capabilities) -> PlatformSettings:
    """Fit the platform's size, fps and duration cap to what the engine makes."""
    p = platform_for(platform_id)
    notes: list[str] = []
    caps = capabilities
    long_side = min(p.long_side, caps.max_size)
    long_side -= long_side % caps.size_multiple
    if long_side < p.long_side:
        notes.append(
            f"{p.label} wants {p.width}×{p.height}; this engine makes up to {caps.max_size} px, "
            f"so the long side is {long_side} px (upscale the clip afterwards)."
        )
    fps = max(caps.min_fps, min(p.fps, caps.max_fps))
    if fps != p.fps:
        notes.append(f"{p.label} plays {p.fps} fps; this engine makes {fps} fps at most.")
    engine_seconds = caps.max_frames / fps
    max_seconds = min(p.max_seconds, engine_seconds)
    if max_seconds < p.max_seconds:
        notes.append(
            f"{p.label} takes up to {p.max_seconds:g} s; this engine makes {max_seconds:.1f} s "
            "per clip (extend it, or cut shots together in a storyboard)."
        )
    return PlatformSettings(
        aspect_ratio=p.aspect_ratio,
        resolution=long_side,
        fps=fps,
        max_seconds=round(max_seconds, 2),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class ProductMood:
    """How a product video should feel: words for the look and a camera move."""

    id: str
    label: str
    style_words: str
    lighting: str
    camera_motion: str
    style_preset: str = ""


_MOOD_LIST = (
    ProductMood(
        "premium",
        "Premium",
        "elegant minimal composition, luxurious materials, glossy reflections",
        "soft studio lighting with a gentle rim light on a dark background",
        "orbit",
        "cinematic",
    ),
    ProductMood(
        "energetic",
        "Energetic",
        "bold saturated colors, dynamic composition, high energy",
        "bright punchy lighting with hard colored highlights",
        "handheld",
    ),
    ProductMood(
        "tech",
        "Tech",
        "clean futuristic aesthetic, precise geometry, sleek surfaces",
        "cool blue and white lighting, crisp specular highlights",
        "dolly_in",
        "photoreal",
    ),
    ProductMood(
        "natural",
        "Natural",
        "organic textures, earthy tones, calm and authentic",
        "warm natural sunlight with soft shadows",
        "pan_right",
        "film_35mm",
    ),
)
MOODS: dict[str, ProductMood] = {m.id: m for m in _MOOD_LIST}


@dataclass(frozen=True)
class ExamplePrompt:
    """A worked prompt in parts, with the camera and style presets it is meant for."""

    id: str
    label: str
    anatomy: Anatomy
    camera_motion: str = "static"
    style_preset: str = ""
    aspect_ratio: str = "16:9"


_EXAMPLE_LIST = (
    ExamplePrompt(
        "tokyo_street",
        "Tokyo street at night",
        Anatomy(
            subject="A stylish woman in a black leather jacket and a long red dress",
            action="walks confidently at a relaxed pace",
            environment="down a wet Tokyo street filled with warm glowing neon and animated "
            "city signage",
            lighting="neon reflections shimmer in the puddles",
            camera="tracking shot at eye level, moving with her",
            style="cinematic",
            quality="highly detailed, sharp focus",
        ),
        camera_motion="tracking",
        style_preset="cinematic",
    ),
    ExamplePrompt(
        "dark_forest",
        "Dark forest",
        Anatomy(
            subject="A lone hooded traveller carrying a lantern",
            action="walks slowly, the lantern swinging gently",
            environment="through an ancient dark forest as mist drifts along the ground",
            lighting="pale moonlight breaks through the canopy, the lantern glows warm",
            camera="slow dolly in from behind",
            style="moody, desaturated, film grain",
            quality="atmospheric, highly detailed",
        ),
        camera_motion="dolly_in",
        style_preset="film_35mm",
    ),
    ExamplePrompt(
        "product_hero",
        "Product hero shot",
        Anatomy(
            subject="A matte black wireless headphone",
            action="rotates slowly on a glossy pedestal",
            environment="in a minimal dark studio",
            lighting="soft studio lighting with a thin rim light tracing its edges",
            camera="smooth orbit around the product",
            style="premium commercial look",
            quality="crisp, highly detailed, 4k",
        ),
        camera_motion="orbit",
        style_preset="cinematic",
    ),
)
EXAMPLES: dict[str, ExamplePrompt] = {e.id: e for e in _EXAMPLE_LIST}


def _check_tables() -> None:
    """Every preset names ids that exist; run at import so a typo fails loudly and early."""
    rows: list[tuple[object, str, str, str]] = [
        *((p, p.aspect_ratio, "static", "") for p in _PLATFORM_LIST),
        *((m, "16:9", m.camera_motion, m.style_preset) for m in _MOOD_LIST),
        *((e, e.aspect_ratio, e.camera_motion, e.style_preset) for e in _EXAMPLE_LIST),
    ]
    for row, aspect, camera, style in rows:
        if aspect not in ASPECT_RATIOS or camera not in CAMERA_MOTIONS:
            raise GenerationError(f"Preset {row} names an unknown aspect or camera.")
        if style and style not in STYLE_PRESETS:
            raise GenerationError(f"Preset {row} names an unknown style.")


_check_tables()
