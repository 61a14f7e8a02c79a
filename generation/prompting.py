"""Prompt presets: camera motions, visual styles, aspect ratios, and the final prompt text.

Video models follow plain descriptive language far better than tags, so each preset carries
a phrase written the way the models' training captions describe shots ("the camera pans
slowly to the left"). The web side offers the ids as choices; engines receive the composed
text from `compose_prompt` and `compose_negative`.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


CAMERA_SPEEDS: dict[str, tuple[str, float]] = {
    "slow": ("Slow", 0.5),
    "normal": ("Normal", 1.0),
    "fast": ("Fast", 2.0),
}
"""Camera speed: a label and how many times the normal move the camera covers per second.
The animatic moves by the factor; models read it from the phrase (`camera_phrase`)."""

GUIDANCE_RANGE: tuple[float, float] = (1.0, 20.0)
"""The guidance (CFG) scales a user may ask for, on engines that take one."""

MOTION_AMOUNT_RANGE: tuple[int, int] = (1, 255)
"""Stable Video Diffusion's motion amount (its motion bucket): 1 barely moves, 255 most."""

_FAST_WORDS = {"slowly": "quickly", "smoothly": "swiftly", "steadily": "quickly"}


def camera_speed_factor(speed: str) -> float:
    """The factor for `speed` (blank is normal); raise GenerationError if unknown."""
    try:
        return CAMERA_SPEEDS[speed or "normal"][1]
    except KeyError:
        known = ", ".join(CAMERA_SPEEDS)
        raise GenerationError(
            f"Unknown camera speed {speed!r}; choose one of: {known}.", field="camera_speed"
        ) from None


def camera_phrase(camera_motion: str, speed: str = "normal") -> str:
    """The camera preset's phrase, reworded for a slow or fast move (static has no speed)."""
    camera = camera_motion_for(camera_motion)
    factor = camera_speed_factor(speed)
    if camera.id == "static" or factor == 1.0:
        return camera.phrase
    words = camera.phrase.split(" ")
    if factor > 1:
        swapped = [_FAST_WORDS.get(w, w) for w in words]
        return " ".join(swapped) if swapped != words else f"{camera.phrase}, moving quickly"
    if "slowly" in words:
        return camera.phrase.replace("slowly", "very slowly", 1)
    return f"{camera.phrase}, moving very slowly"


def compose_prompt(
    text: str, *, camera_motion: str = "static", style: str = "", camera_speed: str = "normal"
) -> str:
    """Return the prompt an engine receives: the user's text, then style, then camera.

    The user's words come first because models weigh early tokens most; the presets follow
    as separate sentences so they read like the captions the models were trained on.
    An empty `camera_motion` means static.
    """
    camera = camera_phrase(camera_motion, camera_speed)
    preset = _style(style)
    parts = [text.strip().rstrip(".,;: ")]
    said = parts[0].lower()
    # The builder may already have put a preset's phrase into the text; say it once.
    if preset and preset.phrase.lower() not in said:
        parts.append(_sentence(preset.phrase))
    if camera.lower() not in said:
        parts.append(_sentence(camera))
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


# --- The prompt's anatomy -------------------------------------------------------------

ANATOMY_PARTS = ("subject", "action", "environment", "lighting", "camera", "style", "quality")
"""What a good video prompt says, in the order a caption says it."""

ANATOMY_LABELS = {
    "subject": "Subject",
    "action": "Action / motion",
    "environment": "Environment",
    "lighting": "Lighting",
    "camera": "Camera",
    "style": "Visual style",
    "quality": "Quality",
}

ANATOMY_PLACEHOLDERS = {
    "subject": "a stylish woman in a black leather jacket",
    "action": "walks confidently toward the camera",
    "environment": "down a rain-soaked Tokyo street lined with neon signs",
    "lighting": "warm neon glow reflecting in puddles",
    "camera": "tracking shot at eye level",
    "style": "cinematic, shot on 35mm film",
    "quality": "highly detailed, sharp focus",
}


@dataclass(frozen=True)
class Anatomy:
    """A prompt in parts; every part is optional and plain words."""

    subject: str = ""
    action: str = ""
    environment: str = ""
    lighting: str = ""
    camera: str = ""
    style: str = ""
    quality: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Anatomy:
        """Build from a form or JSON mapping, ignoring other keys and non-text values."""
        return cls(**{k: str(data.get(k) or "").strip() for k in ANATOMY_PARTS})

    def to_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in ANATOMY_PARTS if getattr(self, k)}

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, k).strip() for k in ANATOMY_PARTS)


def _clause(text: str) -> str:
    return " ".join(text.split()).strip().rstrip(".,;: ")


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_PREPOSITIONS = _wordset(
    """in on at through down along across over under by near inside beside into above below
    among around past toward towards within up from beneath behind between"""
)


def assemble_prompt(anatomy: Anatomy) -> str:
    """Return one prompt from the parts: "Subject action, environment. Lighting. Camera. Style, quality."

    The subject and what it does lead (models weigh early words most), the place follows in
    the same sentence, and the rest are short sentences like a shot description. Blank
    parts leave no stray punctuation.
    """
    a = Anatomy(**{k: _clause(getattr(anatomy, k)) for k in ANATOMY_PARTS})
    scene = " ".join(p for p in (a.subject, a.action) if p)
    if a.environment:
        joint = " " if a.environment.split()[0].lower() in _PREPOSITIONS else ", "
        scene = f"{scene}{joint}{a.environment}" if scene else a.environment
    look = ", ".join(p for p in (a.style, a.quality) if p)
    sentences = [s for s in (scene, a.lighting, a.camera, look) if s]
    return " ".join(_sentence(s) + "." for s in sentences)


# --- Best-practice hints ---------------------------------------------------------------


@dataclass(frozen=True)
class Hint:
    """Advice on a prompt; never blocks a submit. `level` is "tip" or "warning"."""

    rule: str
    message: str
    level: str = "tip"


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


_MOTION_WORDS = _wordset(
    """walk walks walking run runs running fly flies flying flow flows flowing fall falls
    falling drift drifts drifting swim swims swimming dance dances dancing jump jumps jumping
    spin spins spinning rotate rotates rotating turn turns turning move moves moving rise
    rises rising sway sways swaying ride rides riding drive drives driving roll rolls rolling
    crash crashes crashing splash splashes splashing pour pours pouring blow blows blowing
    wave waves waving glide glides gliding climb climbs climbing race races racing chase
    chases chasing rush rushes rushing float floats floating ripple ripples rippling flicker
    flickers flickering burst bursts bursting swirl swirls swirling march marches marching
    sprint sprints sprinting crawl crawls crawling leap leaps leaping descend descends
    descending emerge emerges emerging unfold unfolds unfolding melt melts melting grow
    grows growing bloom blooms blooming shake shakes shaking twirl twirls twirling stroll
    strolls strolling wander wanders wandering hover hovers hovering soar soars soaring
    gallop gallops galloping paddle paddles paddling skate skates skating surf surfs
    surfing zoom zooms pan pans panning tilt tilts tilting orbit orbits orbiting dolly
    tracking reveal reveals revealing approach approaches approaching trot trots trotting
    hop hops hopping bounce bounces bouncing stride strides striding prowl prowls prowling
    dash dashes dashing flap flaps flapping tumble tumbles tumbling cascade cascades
    cascading twinkle twinkles twinkling stir stirs stirring flutter flutters fluttering
    rotation sail sails sailing dive dives diving"""
)


def hint_movement(text: str) -> Hint | None:
    """Video is motion: a prompt with no moving verb tends to come out as a still."""
    if not text.strip() or _MOTION_WORDS & set(_words(text)):
        return None
    return Hint(
        "movement",
        "Say what moves and how: “the dancer spins slowly”, “waves crash against the "
        "rocks”. Without a movement the model may give you a nearly still picture.",
    )


_COUNT_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "several": 4,
    "many": 5,
    "crowd": 6,
    "group": 4,
    "dozens": 12,
    "hundreds": 100,
}
MAX_SUBJECTS = 3


def count_subjects(text: str) -> int:
    """Roughly how many things the prompt asks the model to keep track of.

    Each "a"/"an" starts one unless it follows a preposition ("in a jacket", "down a
    street": that is what a subject wears or where it is); a list after a preposition stays
    part of it. Number words ("three", "a crowd") count as many. A heuristic for a hint,
    not a parser.
    """
    tokens = re.findall(r"[a-z0-9']+|,", text.lower())
    singles = 0
    in_object = False
    previous = ""
    for token in tokens:
        if token in ("a", "an"):
            if previous in _PREPOSITIONS or previous in ("with", "of", "wearing"):
                in_object = True
            elif previous not in ("and", ",", "or"):
                in_object = False
            singles += 0 if in_object else 1
        previous = token
    counted = max((_COUNT_WORDS.get(w, 0) for w in tokens), default=0)
    return max(singles, counted, singles - 1 + counted if counted else 0)


def hint_complexity(text: str) -> Hint | None:
    """Too many subjects in one short clip get merged, dropped or deformed."""
    n = count_subjects(text)
    if n <= MAX_SUBJECTS:
        return None
    return Hint(
        "complexity",
        f"This asks for about {n} subjects; short clips work best with one or two. Keep the "
        "main subject and move the rest to another shot.",
        "warning",
    )


_CAMERA_WORDS = _wordset(
    """camera shot close-up closeup wide aerial drone pan pans tilt tilts zoom zooms dolly
    tracking handheld crane orbit orbits pov overhead angle lens tripod"""
)


def hint_camera(text: str, camera_motion: str = "static") -> Hint | None:
    """Say what the camera does; a preset other than static already does."""
    if (camera_motion or "static") != "static" or not text.strip():
        return None
    if _CAMERA_WORDS & set(_words(text.replace("close-up", "closeup"))):
        return None
    return Hint(
        "camera",
        "Specify the camera: pick a camera preset or write it (“slow dolly in”, “aerial "
        "drone shot”). Otherwise the shot stays locked off.",
    )


_PACE_WORDS = _wordset(
    """slow slowly gentle gently gradual gradually steady steadily calm calmly fast quickly
    quick rapid rapidly swift swiftly sudden suddenly leisurely lazily smooth smoothly
    timelapse time-lapse motion relaxed pace"""
)


def hint_pace(text: str) -> Hint | None:
    """Movement without a pace tends to be jittery or rushed; name the speed."""
    words = set(_words(text))
    if not (_MOTION_WORDS & words) or _PACE_WORDS & words or "slow-motion" in text.lower():
        return None
    return Hint(
        "pace",
        "Control the pace: say how fast things move (“slowly”, “gently”, “in slow motion”, "
        "“time-lapse”). Short clips look best with calm, continuous motion.",
    )


_FACE_WORDS = _wordset("face faces portrait eyes lips smile smiling expression")
_CLOSE_WORDS = ("close-up", "closeup", "close up", "extreme close", "macro")


def hint_faces(text: str) -> Hint | None:
    """Close-ups of faces show every artefact; a medium shot hides them."""
    lower = text.lower()
    if not any(c in lower for c in _CLOSE_WORDS) or not _FACE_WORDS & set(_words(lower)):
        return None
    return Hint(
        "faces",
        "Close-up faces are where video models fail most visibly (eyes, teeth, lips). "
        "Try a medium or wide shot, or show the face in profile or silhouette.",
        "warning",
    )


def hint_length(text: str, max_chars: int) -> Hint | None:
    """Over the engine's limit is refused at submit; near it or very short deserves a word."""
    n = len(text)
    if n > max_chars:
        return Hint(
            "length",
            f"The prompt is {n} characters; this engine takes at most {max_chars}. "
            f"Cut {n - max_chars} characters.",
            "warning",
        )
    if n > max_chars * 0.9:
        return Hint("length", f"{n} of {max_chars} characters: close to this engine's limit.")
    if text.strip() and len(_words(text)) < 6:
        return Hint(
            "length",
            "Very short prompts leave the model guessing; add the setting, the light and "
            "how things move.",
        )
    return None


def prompt_hints(text: str, *, camera_motion: str = "static", max_chars: int) -> list[Hint]:
    """Every hint that applies to `text`, warnings first."""
    found = [
        hint_length(text, max_chars),
        hint_complexity(text),
        hint_faces(text),
        hint_movement(text),
        hint_camera(text, camera_motion),
        hint_pace(text),
    ]
    hints = [h for h in found if h]
    return sorted(hints, key=lambda h: h.level != "warning")
