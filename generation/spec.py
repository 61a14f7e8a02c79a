"""The engine contract: requests in, frames out, progress through a callback.

Everything here is plain Python so the web side can validate a request against an
engine's capabilities without importing torch or loading a model.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

MODES = (
    "text_to_video",
    "image_to_video",
    "video_to_video",
    "extend_forward",
    "extend_backward",
    "interpolate",
    "upscale",
    "enhance",
)

MODE_LABELS = {
    "text_to_video": "Text to video",
    "image_to_video": "Image to video",
    "video_to_video": "Video to video (restyle)",
    "extend_forward": "Extend forward",
    "extend_backward": "Extend backward",
    "interpolate": "Frame interpolation",
    "upscale": "Upscale",
    "enhance": "Enhance to target",
    "edit": "Storyboard edit",  # generation/edit.py: takes assembled into one film.
}

SOURCE_SIZED_MODES = ("interpolate", "upscale", "enhance")
"""Modes whose frame count comes from the input video, not from `num_frames` rules."""


class GenerationError(Exception):
    """A failure the user can act on; `field` names the request field at fault."""

    code = "generation_error"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def __str__(self) -> str:
        return self.message


class Cancelled(GenerationError):
    """Raised from a progress callback when the user cancelled the job."""

    code = "cancelled"

    def __init__(self, message: str = "Cancelled by the user."):
        super().__init__(message)


class OutOfMemory(GenerationError):
    """The device ran out of memory; the message suggests a size that fits."""

    code = "out_of_memory"


@dataclass(frozen=True)
class GenerationRequest:
    """One fully resolved request: enough to reproduce a clip exactly.

    `num_frames` is the length of the clip to generate; for extension modes it is the
    number of new frames to add. `scale` is the factor for `interpolate` and `upscale`.
    `enhance` states its target as the result: `width`×`height` at `fps`, reached by
    interpolating and upscaling the input video. Paths point at local files the engine
    may read.
    """

    mode: str = "text_to_video"
    prompt: str = ""
    negative_prompt: str = ""
    width: int = 512
    height: int = 288
    num_frames: int = 33
    fps: int = 16
    seed: int = 0
    steps: int | None = None
    guidance: float | None = None
    strength: float = 0.7
    camera_motion: str = "static"
    style: str = ""
    image_path: str | None = None
    last_image_path: str | None = None
    video_path: str | None = None
    scale: int = 2
    options: Mapping[str, Any] = field(default_factory=dict)

    def replace(self, **changes: Any) -> GenerationRequest:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["options"] = dict(self.options)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationRequest:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise GenerationError(f"Unknown request fields: {', '.join(sorted(unknown))}.")
        return cls(**data)

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps if self.fps else 0.0


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do; drives validation and the form's choices.

    Frame counts follow `frame_multiple * k + frame_offset` (Wan: 4k+1, LTX: 8k+1).
    Width and height must be multiples of `size_multiple`.
    """

    modes: frozenset[str]
    min_size: int = 64
    max_size: int = 1920
    size_multiple: int = 16
    min_frames: int = 1
    max_frames: int = 241
    frame_multiple: int = 1
    frame_offset: int = 0
    min_fps: int = 4
    max_fps: int = 60
    default_fps: int = 16
    max_prompt_chars: int = 2000
    needs_gpu: bool = False
    default_steps: int | None = None
    max_steps: int = 150
    scales: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    """Factors each scaling mode (`interpolate`, `upscale`) accepts; a mode left out takes any."""

    @property
    def frame_rule(self) -> str:
        if self.frame_multiple <= 1:
            return "any frame count"
        return f"{self.frame_multiple}k+{self.frame_offset} frames"

    def nearest_frames(self, n: int) -> int:
        """The nearest count on the engine's `k·multiple + offset` grid, limits not applied.

        Callers compare it with the limits to tell the user a duration is out of range
        instead of silently clamping it.
        """
        m, off = self.frame_multiple, self.frame_offset
        if m <= 1:
            return n
        return max(0, round((n - off) / m)) * m + off

    def round_frames(self, n: int) -> int:
        """Round to the nearest frame count the engine accepts, within its limits."""
        m, off = self.frame_multiple, self.frame_offset
        n = self.nearest_frames(n)
        lo = self.min_frames
        if m > 1 and (lo - off) % m:
            lo = math.ceil((lo - off) / m) * m + off
        hi = self.max_frames
        if m > 1 and (hi - off) % m:
            hi = math.floor((hi - off) / m) * m + off
        return max(lo, min(hi, n))

    def frames_at_most(self, n: int) -> int:
        """The longest frame count the engine accepts that does not exceed `n` (or its minimum)."""
        m = max(1, self.frame_multiple)
        frames = self.round_frames(n)
        while frames > n and frames - m >= self.min_frames:
            frames -= m
        return frames

    def frames_at_least(self, n: int) -> int:
        """The shortest frame count the engine accepts that is at least `n` (or its maximum)."""
        m, off = self.frame_multiple, self.frame_offset
        n = max(n, self.min_frames)
        if m > 1 and (n - off) % m:
            n = math.ceil((n - off) / m) * m + off
        return self.round_frames(n) if n > self.max_frames else n

    def fit_size(self, value: int) -> int:
        """The nearest side length the engine accepts: within its limits, on its multiple."""
        m = self.size_multiple
        lo = math.ceil(self.min_size / m) * m
        hi = max(lo, math.floor(self.max_size / m) * m)
        return max(lo, min(hi, round(value / m) * m))

    def frames_ok(self, n: int) -> bool:
        if not self.min_frames <= n <= self.max_frames:
            return False
        return self.frame_multiple <= 1 or (n - self.frame_offset) % self.frame_multiple == 0

    def validate(self, request: GenerationRequest, *, engine_label: str = "This engine") -> None:
        """Raise GenerationError naming the first field the engine cannot honour."""
        r = request
        if r.mode not in self.modes:
            supported = ", ".join(m for m in MODES if m in self.modes)
            raise GenerationError(
                f"{engine_label} does not support {r.mode}; it supports: {supported}.",
                field="mode",
            )
        if len(r.prompt) > self.max_prompt_chars:
            raise GenerationError(
                f"The prompt is {len(r.prompt)} characters; the limit is {self.max_prompt_chars}.",
                field="prompt",
            )
        if r.mode in ("text_to_video",) and not r.prompt.strip():
            raise GenerationError("Write a prompt.", field="prompt")
        for name in ("width", "height"):
            v = getattr(r, name)
            if not self.min_size <= v <= self.max_size:
                raise GenerationError(
                    f"{name.capitalize()} {v}px is outside {self.min_size}–{self.max_size}px.",
                    field=name,
                )
            if v % self.size_multiple:
                raise GenerationError(
                    f"{name.capitalize()} {v}px must be a multiple of {self.size_multiple}.",
                    field=name,
                )
        if r.mode not in SOURCE_SIZED_MODES and not self.frames_ok(r.num_frames):
            raise GenerationError(
                f"{engine_label} makes {self.min_frames}–{self.max_frames} frames as "
                f"{self.frame_rule}; {r.num_frames} is not one of them.",
                field="num_frames",
            )
        if not self.min_fps <= r.fps <= self.max_fps:
            raise GenerationError(
                f"{r.fps} fps is outside {self.min_fps}–{self.max_fps} fps.", field="fps"
            )
        if r.steps is not None and not 1 <= r.steps <= self.max_steps:
            raise GenerationError(f"Steps must be 1–{self.max_steps}.", field="steps")
        if not 0.0 <= r.strength <= 1.0:
            raise GenerationError("Strength must be between 0 and 1.", field="strength")
        if r.mode == "image_to_video" and not r.image_path:
            raise GenerationError("Image to video needs an input image.", field="image_path")
        needs_video = (
            "video_to_video",
            "extend_forward",
            "extend_backward",
            *SOURCE_SIZED_MODES,
        )
        if r.mode in needs_video and not r.video_path:
            raise GenerationError(
                f"{MODE_LABELS[r.mode]} needs an input video.", field="video_path"
            )
        allowed_scales = self.scales.get(r.mode)
        if allowed_scales and r.scale not in allowed_scales:
            *rest, last = [f"×{s}" for s in allowed_scales]
            allowed = f"{', '.join(rest)} and {last}" if rest else last
            raise GenerationError(
                f"{MODE_LABELS[r.mode]} supports {allowed}; ×{r.scale} is not one of them.",
                field="scale",
            )


def check_frames(frames: Any, *, what: str = "frames", field: str | None = None) -> np.ndarray:
    """Return `frames` as an array if it is a non-empty (T, H, W, 3) uint8 clip; else raise."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise GenerationError(
            f"Expected {what} as a (T, H, W, 3) uint8 array, got shape {frames.shape} "
            f"and dtype {frames.dtype}."
        )
    if frames.shape[0] == 0:
        raise GenerationError(f"There are no {what}.", field=field)
    return frames


@dataclass
class VideoResult:
    """Frames as a (T, H, W, 3) uint8 array, with the fps to play them at."""

    frames: np.ndarray
    fps: float
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.frames = check_frames(self.frames, what="frames from the engine")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])


@runtime_checkable
class Progress(Protocol):
    def step(self, done: int, total: int, preview: np.ndarray | None = None) -> None: ...

    def cancelled(self) -> bool: ...


class NullProgress:
    """Progress sink that records steps; handy for tests and scripts."""

    def __init__(self) -> None:
        self.steps: list[tuple[int, int]] = []

    def step(self, done: int, total: int, preview: np.ndarray | None = None) -> None:
        self.steps.append((done, total))

    def cancelled(self) -> bool:
        return False


def check_cancel(progress: Progress) -> None:
    if progress.cancelled():
        raise Cancelled()


@runtime_checkable
class Engine(Protocol):
    id: str
    label: str
    capabilities: Capabilities

    def generate(self, request: GenerationRequest, progress: Progress) -> VideoResult: ...
