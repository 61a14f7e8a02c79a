"""Long clips by chaining segments: generate one, then extend forward until long enough.

A model makes a few seconds at a time; longer clips come from repeated `extend_forward`
calls, each conditioned on the tail of what exists so far, joined with a crossfade over
the overlap. Any engine whose capabilities include `extend_forward` works; the engine's
result for an extension must be the source followed by exactly `num_frames` new frames.
An engine without extension but with image to video continues shot by shot instead:
each segment starts from the previous one's last frame.

Each extension is given only the last `overlap` frames as its source, so the cost of a
step does not grow with the clip, and only those frames pass through the crossfade.

With a `workdir` that outlives the run, every finished segment is saved there, and a
second run of the same request (a retry after a crash or a failure midway) resumes after
the last saved segment instead of starting over.
"""

from __future__ import annotations

import hashlib
import json
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

MAX_LONG_SECONDS = 120
"""The longest clip one prompt makes by chaining segments (two minutes)."""

DEFAULT_MAX_SECONDS = MAX_LONG_SECONDS
"""Longest clip `generate_long` makes unless `options["max_total_seconds"]` says otherwise."""

DEFAULT_OVERLAP = 9
"""Frames shared between segments when the engine does not name its own default."""


def chain_kind(caps: Capabilities) -> str | None:
    """How an engine makes clips longer than one pass: `extend`, `continue`, or None."""
    if "extend_forward" in caps.modes:
        return "extend"
    if "image_to_video" in caps.modes:
        return "continue"
    return None


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
    if total_frames > segment and chain_kind(caps) is None:
        raise GenerationError(
            f"{getattr(engine, 'label', 'This engine')} cannot extend clips or start from an "
            f"image, so it makes at most {segment} frames in one piece; choose an engine that "
            "extends forward or animates an image.",
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

    kind = chain_kind(caps) if len(plan) > 1 else None
    saved = _Segments(workdir, request, plan, overlap)
    done = saved.load()
    if done:
        frames, fps, notes = done.frames, done.fps, done.notes
        for _ in range(done.count):
            overall.next_segment()
    else:
        first_mode = "image_to_video" if request.image_path else "text_to_video"
        first = engine.generate(
            request.replace(mode=first_mode, num_frames=plan[0], video_path=None), overall
        )
        frames, fps = first.frames, first.fps
        notes = list(first.notes)
        saved.save(0, 0, frames, fps, notes)
        overall.next_segment()
    for i, new in enumerate(plan[1:], start=1):
        if i < saved.count:
            continue
        check_cancel(progress)
        if kind == "continue":
            cut, added = _continue(engine, request, frames, new, i, overall, workdir)
        else:
            cut, added = _extend_segment(
                engine, request, frames, fps, new, i, overlap, overall, workdir
            )
        if added.shape[1:] != frames.shape[1:]:
            raise GenerationError(
                f"Segment {i + 1} came back at {added.shape[2]}×{added.shape[1]}; the clip is "
                f"{frames.shape[2]}×{frames.shape[1]}."
            )
        frames = np.concatenate([frames[:cut], added])
        saved.save(i, cut, added, fps, notes)
        overall.next_segment()
    frames = frames[:total_frames]
    how = (
        "each from the previous one's last frame"
        if kind == "continue"
        else f"with {overlap}-frame crossfades"
    )
    notes.append(
        f"Chained {len(plan)} segments ({', '.join(map(str, plan))} new frames) {how}; "
        f"trimmed to {total_frames} frames."
    )
    if done:
        notes.append(f"Resumed after {done.count} finished segment(s) of an earlier attempt.")
    saved.clear()
    return VideoResult(
        frames=np.ascontiguousarray(frames),
        fps=fps,
        notes=notes,
        info={"segments": plan, "overlap": overlap, "total_frames": total_frames},
    )


def _extend_segment(
    engine: Engine,
    request: GenerationRequest,
    frames: np.ndarray,
    fps: float,
    new: int,
    i: int,
    overlap: int,
    progress: Progress,
    workdir: Path,
) -> tuple[int, np.ndarray]:
    """Extend from the last `overlap` frames; return where to splice and what to splice in."""
    tail = min(overlap, len(frames))
    seg_request = request.replace(
        mode="extend_forward",
        num_frames=new,
        seed=request.seed + i,
        image_path=None,
        video_path=None,
        options={**request.options, "overlap": tail},
    )
    source = frames[len(frames) - tail :]
    result = _extend(engine, seg_request, source, fps, progress, workdir / f"segment-{i}.mp4")
    if result.num_frames != tail + new:
        raise GenerationError(
            f"Extending by {new} frames returned {result.num_frames} frames; expected the "
            f"{tail}-frame source plus {new} new ones."
        )
    return len(frames) - tail, result.frames


def _continue(
    engine: Engine,
    request: GenerationRequest,
    frames: np.ndarray,
    new: int,
    i: int,
    progress: Progress,
    workdir: Path,
) -> tuple[int, np.ndarray]:
    """Animate the last frame into the next segment; its first frame repeats that frame."""
    from PIL import Image

    still = workdir / f"last-frame-{i}.png"
    Image.fromarray(frames[-1]).save(still)
    count = engine.capabilities.frames_at_least(new + 1)
    result = engine.generate(
        request.replace(
            mode="image_to_video",
            num_frames=count,
            seed=request.seed + i,
            image_path=os.fspath(still),
            video_path=None,
        ),
        progress,
    )
    still.unlink(missing_ok=True)
    return len(frames), result.frames[1:]


class _Saved:
    def __init__(self, frames: np.ndarray, fps: float, notes: list[str], count: int):
        self.frames, self.fps, self.notes, self.count = frames, fps, notes, count


class _Segments:
    """Finished segments on disk, so a later attempt at the same request resumes.

    Each segment is stored as the frames it spliced in and where; a key made from the
    request and the plan keeps a different request from reusing them.
    """

    def __init__(self, workdir: Path, request: GenerationRequest, plan: list[int], overlap: int):
        self.dir = workdir / "segments"
        recipe = json.dumps([request.to_dict(), plan, overlap], sort_keys=True, default=str)
        self.key = hashlib.sha256(recipe.encode()).hexdigest()
        self.count = 0

    def load(self) -> _Saved | None:
        meta = self.dir / "meta.json"
        try:
            info = json.loads(meta.read_text())
        except (OSError, ValueError):
            return None
        if info.get("key") != self.key or not info.get("count"):
            return None
        frames: np.ndarray | None = None
        try:
            for i, cut in enumerate(info["cuts"][: info["count"]]):
                added = np.load(self.dir / f"segment-{i}.npy")
                frames = added if frames is None else np.concatenate([frames[:cut], added])
        except (OSError, ValueError):
            return None
        assert frames is not None
        self.count = int(info["count"])
        return _Saved(frames, float(info["fps"]), list(info["notes"]), self.count)

    def save(self, i: int, cut: int, added: np.ndarray, fps: float, notes: list[str]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        meta = self.dir / "meta.json"
        try:
            cuts = json.loads(meta.read_text())["cuts"][:i] if i else []
        except (OSError, ValueError, KeyError):
            cuts = []
        part = self.dir / f".segment-{i}.npy"
        np.save(part, added)
        os.replace(part, self.dir / f"segment-{i}.npy")
        info = {"key": self.key, "count": i + 1, "cuts": [*cuts, cut], "fps": fps}
        info["notes"] = notes
        tmp = self.dir / ".meta.json"
        tmp.write_text(json.dumps(info))
        os.replace(tmp, meta)
        self.count = i + 1

    def clear(self) -> None:
        if self.dir.is_dir():
            for path in self.dir.iterdir():
                path.unlink(missing_ok=True)
            self.dir.rmdir()
