"""LTX-Video engine on a tiny random-weight pipeline loaded from disk (2 steps, 32×32)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from generation.engines import Registry
from generation.engines.ltx import LTXEngine, ceil_8k1, choose_overlap
from generation.spec import Cancelled, GenerationError, GenerationRequest, NullProgress
from generation.video import encode_mp4, read_video

BASE = GenerationRequest(
    prompt="a red cat walks in the forest",
    width=32,
    height=32,
    num_frames=9,
    fps=24,
    steps=2,
    seed=1,
)


@pytest.fixture(scope="module")
def engine(tiny_ltx_dir):
    return LTXEngine(engine_id="ltx", model=str(tiny_ltx_dir))


@pytest.fixture(scope="module")
def source(engine, tmp_path_factory):
    """A 17-frame clip made by the engine, as an MP4 and as the frames decoded from it."""
    frames = engine.generate(BASE.replace(num_frames=17, seed=3), NullProgress()).frames
    path = tmp_path_factory.mktemp("ltx-src") / "source.mp4"
    encode_mp4(frames, 24, path)
    decoded, _ = read_video(path)
    return path, decoded


def test_importing_the_engine_does_not_import_torch():
    code = (
        "import sys, generation.engines.ltx, generation.longvideo; "
        "sys.exit('torch' in sys.modules or 'diffusers' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_capabilities_follow_the_8k_plus_1_rule():
    caps = LTXEngine.capabilities
    assert caps.frame_rule == "8k+1 frames"
    assert caps.frames_ok(9) and caps.frames_ok(17) and not caps.frames_ok(10)
    assert caps.size_multiple == 32 and caps.default_fps == 24 and caps.default_steps == 40
    assert [ceil_8k1(n) for n in (1, 2, 9, 10, 18)] == [1, 9, 9, 17, 25]


def test_text_to_video_shape_and_progress(engine):
    progress = NullProgress()
    result = engine.generate(BASE, progress)
    assert result.frames.shape == (9, 32, 32, 3)
    assert result.frames.dtype == np.uint8
    assert result.fps == 24
    assert progress.steps == [(1, 2), (2, 2)]
    assert result.frames.std() > 0  # not a blank clip


def test_text_to_video_is_deterministic_per_seed(engine):
    a = engine.generate(BASE, NullProgress()).frames
    b = engine.generate(BASE, NullProgress()).frames
    c = engine.generate(BASE.replace(seed=2), NullProgress()).frames
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_image_to_video(engine, tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(tmp_path / "in.png")
    request = BASE.replace(mode="image_to_video", image_path=str(tmp_path / "in.png"))
    a = engine.generate(request, NullProgress()).frames
    b = engine.generate(request, NullProgress()).frames
    c = engine.generate(request.replace(seed=2), NullProgress()).frames
    t2v = engine.generate(BASE, NullProgress()).frames
    assert a.shape == (9, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.array_equal(a, t2v)  # the image conditions the result


def test_registry_builds_it_and_modes_share_one_load(tiny_ltx_dir, source):
    path, _ = source
    fresh = Registry({"ltx": {"model": str(tiny_ltx_dir)}}).get("ltx")
    assert isinstance(fresh, LTXEngine)
    fresh.generate(BASE, NullProgress())
    fresh.generate(BASE.replace(mode="extend_forward", video_path=str(path)), NullProgress())
    assert fresh.load_count == 1


def test_frame_count_must_be_8k_plus_1(engine):
    with pytest.raises(GenerationError, match=r"8k\+1") as info:
        engine.generate(BASE.replace(num_frames=12), NullProgress())
    assert info.value.field == "num_frames"


def test_cancel_lands_within_one_step(engine):
    class CancelAfterFirst(NullProgress):
        def cancelled(self) -> bool:
            return len(self.steps) >= 1

    progress = CancelAfterFirst()
    with pytest.raises(Cancelled):
        engine.generate(BASE.replace(steps=5), progress)
    assert progress.steps == [(1, 5)]


def test_extend_forward_keeps_the_source_and_adds_frames(engine, source):
    path, src = source
    request = BASE.replace(mode="extend_forward", video_path=str(path), num_frames=9)
    progress = NullProgress()
    result = engine.generate(request, progress)
    # Source (17) + new (9); the default 9-frame overlap is crossfaded, so the first
    # 17 - 9 = 8 frames are the source's own, byte for byte.
    assert result.frames.shape == (17 + 9, 32, 32, 3)
    assert result.fps == 24
    assert np.array_equal(result.frames[:8], src[:8])
    assert not np.array_equal(result.frames[8:17], src[8:17])  # the seam is faded
    assert result.info["overlap"] == 9
    assert result.info["generated_frames"] == 25  # 9 overlap + 9 new, already 8k+1
    assert progress.steps[-1] == (2, 2)


def test_extend_forward_is_deterministic_per_seed(engine, source):
    path, _ = source
    request = BASE.replace(mode="extend_forward", video_path=str(path), num_frames=9)
    a = engine.generate(request, NullProgress()).frames
    b = engine.generate(request, NullProgress()).frames
    c = engine.generate(request.replace(seed=7), NullProgress()).frames
    assert np.array_equal(a, b)
    assert not np.array_equal(a[17:], c[17:])


def test_extend_backward_puts_new_frames_before_the_source(engine, source):
    path, src = source
    request = BASE.replace(mode="extend_backward", video_path=str(path), num_frames=17)
    result = engine.generate(request, NullProgress())
    # New (17) + source (17); 9 + 17 = 26 rounds up to a 33-frame segment whose first
    # 7 frames are dropped; the source's last 17 - 9 = 8 frames end the clip untouched.
    assert result.frames.shape == (17 + 17, 32, 32, 3)
    assert np.array_equal(result.frames[-8:], src[-8:])
    assert not np.array_equal(result.frames[:17], src[:17])
    assert result.info["generated_frames"] == 33


def test_extend_resizes_the_source_and_keeps_its_fps(engine, tmp_path):
    rng = np.random.default_rng(1)
    big = rng.integers(0, 256, (5, 64, 96, 3), dtype=np.uint8)
    encode_mp4(big, 12, tmp_path / "big.mp4")
    request = BASE.replace(mode="extend_forward", video_path=str(tmp_path / "big.mp4"))
    result = engine.generate(request, NullProgress())
    # A 5-frame source is short, so the overlap falls back to one frame.
    assert result.info["overlap"] == 1
    assert result.frames.shape == (5 + 9, 32, 32, 3)
    assert result.fps == 12
    assert any("12 fps" in note for note in result.notes)


def test_overlap_option_is_checked():
    assert choose_overlap({}, 17) == 9
    assert choose_overlap({}, 9) == 1
    assert choose_overlap({"overlap": 17}, 17) == 17
    with pytest.raises(GenerationError, match=r"8k\+1"):
        choose_overlap({"overlap": 8}, 17)
    with pytest.raises(GenerationError, match="longer than the source"):
        choose_overlap({"overlap": 17}, 9)


@pytest.mark.parametrize("overlap", ["nine", [9], 4])
def test_a_bad_overlap_option_is_a_user_error(engine, source, overlap):
    path, _ = source
    request = BASE.replace(
        mode="extend_forward", video_path=str(path), options={"overlap": overlap}
    )
    with pytest.raises(GenerationError, match="overlap") as info:
        engine.generate(request, NullProgress())
    assert info.value.field == "options"


def test_extension_needs_a_readable_video(engine, tmp_path):
    request = BASE.replace(mode="extend_forward", video_path=str(tmp_path / "missing.mp4"))
    with pytest.raises(GenerationError) as info:
        engine.generate(request, NullProgress())
    assert info.value.field == "video_path"
