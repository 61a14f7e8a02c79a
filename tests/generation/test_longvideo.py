"""Chained long-video generation: planning, stitching, progress, cancel, limits."""

from __future__ import annotations

import numpy as np
import pytest

from generation.engines.ltx import LTXEngine
from generation.longvideo import SegmentProgress, generate_long, plan_segments
from generation.spec import (
    Cancelled,
    Capabilities,
    GenerationError,
    GenerationRequest,
    NullProgress,
    VideoResult,
)
from generation.video import read_video

REQUEST = GenerationRequest(
    prompt="a blue bird flies over the sea", width=32, height=32, num_frames=9, fps=24, steps=2
)


class FileEngine:
    """A pure-numpy engine that extends through files, like an engine without a fast path.

    Each segment is a flat colour from its seed, so the stitched clip shows which frames
    came from where; extension follows the contract: the source, then `num_frames` new.
    """

    id = "fake"
    label = "Fake"
    capabilities = Capabilities(
        modes=frozenset({"text_to_video", "extend_forward"}),
        min_size=16,
        size_multiple=16,
        min_frames=9,
        frame_multiple=8,
        frame_offset=1,
        default_steps=3,
    )

    def __init__(self):
        self.requests: list[GenerationRequest] = []

    def generate(self, request, progress):
        self.capabilities.validate(request)
        self.requests.append(request)
        for i in range(3):
            progress.step(i + 1, 3)
            if progress.cancelled():
                raise Cancelled()
        new = np.full((request.num_frames, request.height, request.width, 3), 0, np.uint8)
        new[..., 0] = 10 * request.seed
        if request.mode == "text_to_video":
            return VideoResult(frames=new, fps=request.fps)
        source, info = read_video(request.video_path)
        return VideoResult(frames=np.concatenate([source, new]), fps=info.fps)


def test_plan_covers_the_total_with_valid_segments():
    caps = LTXEngine.capabilities
    assert plan_segments(caps, 25, 9) == [9, 9, 9]
    assert plan_segments(caps, 40, 17) == [17, 17, 9]
    assert plan_segments(caps, 5, 17) == [9]
    assert all(caps.frames_ok(n) for n in plan_segments(caps, 100, 33))


def test_segment_progress_never_goes_backwards():
    sink = NullProgress()
    overall = SegmentProgress(sink, segments=2, units=4)
    overall.step(2, 4)
    overall.step(1, 4)  # a stray lower report must not move the bar back
    overall.next_segment()
    overall.step(1, 2)
    overall.next_segment()
    assert sink.steps == [(2, 8), (2, 8), (4, 8), (6, 8), (8, 8)]


def test_long_clip_through_files(tmp_path):
    engine = FileEngine()
    sink = NullProgress()
    result = generate_long(
        engine, REQUEST, total_frames=30, overlap=9, progress=sink, workdir=tmp_path
    )
    # Plan 9 + 9 + 9 + 9 = 36 new frames, trimmed to exactly 30.
    assert result.frames.shape == (30, 32, 32, 3)
    assert result.fps == 24
    modes = [r.mode for r in engine.requests]
    assert modes == ["text_to_video", "extend_forward", "extend_forward", "extend_forward"]
    assert [r.seed for r in engine.requests] == [0, 1, 2, 3]
    assert all(r.options["overlap"] == 9 for r in engine.requests[1:])
    assert len(list(tmp_path.glob("segment-*.mp4"))) == 3
    # Segment boundaries: segment 0 fills frames 0-8, segment 1 the next 9 (red 10).
    assert result.frames[0, 0, 0, 0] == 0
    assert abs(int(result.frames[12, 0, 0, 0]) - 10) <= 2
    assert abs(int(result.frames[29, 0, 0, 0]) - 30) <= 2
    done = [d for d, _ in sink.steps]
    assert done == sorted(done)
    assert {t for _, t in sink.steps} == {4 * 2}
    assert sink.steps[-1] == (8, 8)


def test_image_starts_with_image_to_video(tmp_path):
    class ImageEngine(FileEngine):
        capabilities = Capabilities(
            modes=frozenset({"image_to_video", "text_to_video"}), min_size=16, min_frames=1
        )

        def generate(self, request, progress):
            self.requests.append(request)
            n = request.num_frames
            return VideoResult(np.zeros((n, 32, 32, 3), np.uint8), fps=request.fps)

    engine = ImageEngine()
    request = REQUEST.replace(image_path=str(tmp_path / "first.png"))
    result = generate_long(
        engine, request, total_frames=7, progress=NullProgress(), workdir=tmp_path
    )
    assert result.num_frames == 7
    assert [r.mode for r in engine.requests] == ["image_to_video"]


def test_cancel_passes_through(tmp_path):
    class CancelLater(NullProgress):
        def cancelled(self) -> bool:
            return len(self.steps) >= 5

    engine = FileEngine()
    with pytest.raises(Cancelled):
        generate_long(engine, REQUEST, total_frames=30, progress=CancelLater(), workdir=tmp_path)
    assert len(engine.requests) == 2  # stopped during the second segment


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"total_frames": 0}, "total_frames", "positive"),
        ({"total_frames": 24 * 120 + 1}, "total_frames", "limit is 2880 frames"),
        ({"total_frames": 30, "segment_frames": 10}, "num_frames", r"8k\+1"),
        ({"total_frames": 30, "overlap": 0}, "overlap", "at least 1"),
    ],
)
def test_bad_lengths_are_refused(tmp_path, kwargs, field, message):
    with pytest.raises(GenerationError, match=message) as info:
        generate_long(FileEngine(), REQUEST, progress=NullProgress(), workdir=tmp_path, **kwargs)
    assert info.value.field == field


def test_limit_comes_from_options(tmp_path):
    request = REQUEST.replace(options={"max_total_seconds": 1})
    with pytest.raises(GenerationError, match="limit is 24 frames"):
        generate_long(
            FileEngine(), request, total_frames=25, progress=NullProgress(), workdir=tmp_path
        )


@pytest.mark.parametrize(
    ("options", "field"),
    [({"max_total_seconds": "a minute"}, "options"), ({"overlap": "nine"}, "overlap")],
)
def test_bad_options_are_user_errors(tmp_path, options, field):
    request = REQUEST.replace(options=options)
    with pytest.raises(GenerationError) as info:
        generate_long(
            FileEngine(), request, total_frames=25, progress=NullProgress(), workdir=tmp_path
        )
    assert info.value.field == field


def test_engine_without_extension_is_refused(tmp_path):
    class NoExtend(FileEngine):
        capabilities = Capabilities(modes=frozenset({"text_to_video"}), min_frames=9)

    with pytest.raises(GenerationError, match="cannot extend"):
        generate_long(
            NoExtend(), REQUEST, total_frames=30, progress=NullProgress(), workdir=tmp_path
        )


def test_long_ltx_clip_in_three_segments(tiny_ltx_dir, tmp_path):
    engine = LTXEngine(engine_id="ltx", model=str(tiny_ltx_dir))
    sink = NullProgress()
    result = generate_long(engine, REQUEST, total_frames=25, progress=sink, workdir=tmp_path)
    assert result.frames.shape == (25, 32, 32, 3)
    assert result.frames.dtype == np.uint8
    assert result.fps == 24
    assert result.info["segments"] == [9, 9, 9]
    assert engine.load_count == 1
    assert not list(tmp_path.glob("*.mp4"))  # LTX extends in memory, no MP4 round trip
    done = [d for d, _ in sink.steps]
    assert done == sorted(done)
    assert {t for _, t in sink.steps} == {6}
    assert sink.steps[-1] == (6, 6)
    again = generate_long(
        engine, REQUEST, total_frames=25, progress=NullProgress(), workdir=tmp_path
    )
    assert np.array_equal(result.frames, again.frames)


class ImageEngine(FileEngine):
    """Image to video without extension: the first frame is the input image, as i2v models do."""

    capabilities = Capabilities(
        modes=frozenset({"text_to_video", "image_to_video"}),
        min_size=16,
        size_multiple=16,
        min_frames=9,
        frame_multiple=8,
        frame_offset=1,
        default_steps=3,
    )

    def generate(self, request, progress):
        from PIL import Image

        self.capabilities.validate(request)
        self.requests.append(request)
        progress.step(3, 3)
        new = np.full((request.num_frames, request.height, request.width, 3), 0, np.uint8)
        new[..., 1] = 10 * request.seed + 5
        if request.mode == "image_to_video":
            new[0] = np.asarray(Image.open(request.image_path).convert("RGB"))
        return VideoResult(frames=new, fps=request.fps)


def test_image_engines_continue_from_the_last_frame(tmp_path):
    engine = ImageEngine()
    result = generate_long(
        engine, REQUEST, total_frames=30, progress=NullProgress(), workdir=tmp_path
    )
    assert result.num_frames == 30
    modes = [r.mode for r in engine.requests]
    assert modes[0] == "text_to_video" and set(modes[1:]) == {"image_to_video"}
    # Segment 2 starts from segment 1's last frame, which appears once, not twice.
    assert (result.frames[8, 0, 0, 1], result.frames[9, 0, 0, 1]) == (5, 15)
    assert "last frame" in result.notes[-1]
    assert not (tmp_path / "segments").exists()


def test_a_failure_midway_keeps_finished_segments_and_resumes(tmp_path):
    class FailThird(FileEngine):
        def generate(self, request, progress):
            if len(self.requests) == 2:
                self.requests.append(request)
                raise GenerationError("the GPU fell over")
            return super().generate(request, progress)

    failing = FailThird()
    with pytest.raises(GenerationError, match="fell over"):
        generate_long(failing, REQUEST, total_frames=30, progress=NullProgress(), workdir=tmp_path)
    assert (tmp_path / "segments" / "segment-1.npy").exists()

    resumed_engine = FileEngine()
    resumed = generate_long(
        resumed_engine, REQUEST, total_frames=30, progress=NullProgress(), workdir=tmp_path
    )
    # Only the segments after the two finished ones run again.
    assert [r.seed for r in resumed_engine.requests] == [REQUEST.seed + 2, REQUEST.seed + 3]
    fresh = generate_long(
        FileEngine(), REQUEST, total_frames=30, progress=NullProgress(), workdir=tmp_path / "b"
    )
    assert np.array_equal(resumed.frames, fresh.frames)
    assert "Resumed after 2" in resumed.notes[-1]
