"""Long clips by chaining segments: generate one, then extend forward until long enough.

A model makes a few seconds at a time; longer clips come from repeated `extend_forward`
calls, each conditioned on the tail of what exists so far, joined with a crossfade over
the overlap. Any engine whose capabilities include `extend_forward` works; the engine's
result for an extension must be the source followed by exactly `num_frames` new frames.

Each extension is given only the last `overlap` frames as its source, so the cost of a
step does not grow with the clip, and only those frames pass through the crossfade.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from generation.spec import (
    Capabilities,
    Engine,
    GenerationError,
    GenerationRequest,
    Progress,
    VideoResult,
    check_cancel,
)

DEFAULT_MAX_SECONDS = 60
"""Longest clip `generate_long` makes unless `options["max_total_seconds"]` says otherwise."""

DEFAULT_OVERLAP = 9
"""Frames shared between segments when the engine does not name its own default."""


def plan_segments(caps: Capabilities, total_frames: int, segment_frames: int) -> list[int]:
    """Split `total_frames` into a first segment and the new frames of each extension.

    Every entry is a count the engine accepts; the sum reaches `total_frames` or passes
    it by less than one frame step, and the caller trims the excess.
    """
    plan: list[int] = []
    covered = 0
    while covered < total_frames:
        n = caps.frames_at_least(min(total_frames - covered, segment_frames))
        plan.append(n)
        covered += n
    return plan


class SegmentProgress:
    """Map each segment's (done, total) onto one overall bar that never goes backwards.

    Every segment gets the same share, `units` steps, so the overall total is fixed up
    front and matches the steps the user asked for when engines report them as planned.
    """

    def __init__(self, progress: Progress, *, segments: int, units: int):
        self._progress = progress
        self.segments = segments
        self.units = max(1, units)
        self.index = 0
        self.done = 0

    @property
    def total(self) -> int:
        return self.segments * self.units

    def step(self, done: int, total: int, preview: np.ndarray | None = None) -> None:
        share = min(self.units, self.units * done // total) if total > 0 else 0
        self.done = max(self.done, self.index * self.units + share)
        self._progress.step(self.done, self.total, preview)

    def next_segment(self) -> None:
        """Close the current segment at its full share and move to the next one."""
        self.step(1, 1)
        self.index += 1

    def cancelled(self) -> bool:
        return self._progress.cancelled()


def max_total_frames(request: GenerationRequest, fps: float) -> int:
    """Return the longest clip allowed, from `options["max_total_seconds"]` (default 60 s)."""
    seconds = request.options.get("max_total_seconds", DEFAULT_MAX_SECONDS)
    try:
        return max(1, int(float(seconds) * fps))
    except (TypeError, ValueError, OverflowError):
        raise GenerationError(
            f"max_total_seconds must be a number of seconds, got {seconds!r}.", field="options"
        ) from None


def _validate(
    engine: Engine, request: GenerationRequest, total_frames: int, segment: int, overlap: int
) -> None:
    caps = engine.capabilities
    if isinstance(total_frames, bool) or not isinstance(total_frames, int) or total_frames < 1:
        raise GenerationError(
            f"The total length must be a positive number of frames, got {total_frames!r}.",
            field="total_frames",
        )
    limit = max_total_frames(request, request.fps)
    if total_frames > limit:
        raise GenerationError(
            f"{total_frames} frames is {total_frames / request.fps:.1f} s at {request.fps} fps; "
            f"the limit is {limit} frames ({limit / request.fps:.0f} s).",
            field="total_frames",
        )
    if not caps.frames_ok(segment):
        raise GenerationError(
            f"Segments of {segment} frames do not fit the engine's rule ({caps.frame_rule}, "
            f"{caps.min_frames}–{caps.max_frames}).",
            field="num_frames",
        )
    if total_frames > segment and "extend_forward" not in caps.modes:
        raise GenerationError(
            f"{getattr(engine, 'label', 'This engine')} cannot extend clips, so it makes at "
            f"most {segment} frames in one piece; choose an engine that extends forward.",
            field="total_frames",
        )
    if total_frames > segment and overlap < 1:
        raise GenerationError(
            f"The overlap between segments must be at least 1 frame, got {overlap}.",
            field="overlap",
        )


def _extend(
    engine: Engine,
    request: GenerationRequest,
    source: np.ndarray,
    fps: float,
    progress: Progress,
    path: Path,
) -> VideoResult:
    """Extend `source` forward, in memory when the engine can, else through an MP4 file."""
    in_memory = getattr(engine, "extend_frames", None)  # Engines that extend in memory.
    if in_memory is not None:
        return in_memory(request, progress, source, fps)
    from generation.video import encode_mp4

    encode_mp4(source, fps, path)
    return engine.generate(request.replace(video_path=os.fspath(path)), progress)


def generate_long(
    engine: Engine,
    request: GenerationRequest,
    *,
    total_frames: int,
    segment_frames: int | None = None,
    overlap: int | None = None,
    progress: Progress,
    workdir: str | os.PathLike[str],
) -> VideoResult:
    """Make a clip of exactly `total_frames` frames from one prompt, segment by segment.

    The first segment is text to video, or image to video when `request.image_path` is
    set; the rest extend forward from the last `overlap` frames. `segment_frames`
    (default `request.num_frames`) bounds each segment's new frames. Segment `i` uses seed
    `request.seed + i`, so each segment gets fresh noise yet the whole clip reproduces.
    """
    caps = engine.capabilities
    segment = request.num_frames if segment_frames is None else segment_frames
    if overlap is None:
        value = request.options.get("overlap", getattr(engine, "default_overlap", 0)) or 0
        try:
            overlap = int(value)
        except (TypeError, ValueError):
            raise GenerationError(
                f"The overlap must be a whole number of frames, got {value!r}.", field="overlap"
            ) from None
        overlap = overlap or DEFAULT_OVERLAP
    _validate(engine, request, total_frames, segment, overlap)
    plan = plan_segments(caps, total_frames, segment)
    steps = request.steps or caps.default_steps or 1
    overall = SegmentProgress(progress, segments=len(plan), units=steps)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)

    first_mode = "image_to_video" if request.image_path else "text_to_video"
    first = engine.generate(
        request.replace(mode=first_mode, num_frames=plan[0], video_path=None), overall
    )
    frames, fps = first.frames, first.fps
    notes = list(first.notes)
    for i, new in enumerate(plan[1:], start=1):
        overall.next_segment()
        check_cancel(progress)
        tail = min(overlap, len(frames))
        options = {**request.options, "overlap": tail}
        seg_request = request.replace(
            mode="extend_forward",
            num_frames=new,
            seed=request.seed + i,
            image_path=None,
            video_path=None,
            options=options,
        )
        source = frames[len(frames) - tail :]
        result = _extend(engine, seg_request, source, fps, overall, workdir / f"segment-{i}.mp4")
        if result.num_frames != tail + new:
            raise GenerationError(
                f"Extending by {new} frames returned {result.num_frames} frames; expected the "
                f"{tail}-frame source plus {new} new ones."
            )
        if result.frames.shape[1:] != frames.shape[1:]:
            raise GenerationError(
                f"Segment {i + 1} came back at {result.width}×{result.height}; the clip is "
                f"{frames.shape[2]}×{frames.shape[1]}."
            )
        frames = np.concatenate([frames[: len(frames) - tail], result.frames])
    overall.next_segment()
    frames = frames[:total_frames]
    notes.append(
        f"Chained {len(plan)} segments ({', '.join(map(str, plan))} new frames) with "
        f"{overlap}-frame crossfades; trimmed to {total_frames} frames."
    )
    return VideoResult(
        frames=np.ascontiguousarray(frames),
        fps=fps,
        notes=notes,
        info={**first.info, "segments": plan, "overlap": overlap, "total_frames": total_frames},
    )
