"""Wan engine on tiny random-weight checkpoints, through the Registry like the worker."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generation.engines import Registry
from generation.engines.wan import WanEngine
from generation.spec import Cancelled, GenerationError, GenerationRequest, NullProgress

pytestmark = pytest.mark.usefixtures("offline")

T2V = GenerationRequest(
    prompt="a red car driving in the city at night",
    width=16,
    height=16,
    num_frames=9,
    steps=2,
    seed=1,
)


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def wan(**config) -> WanEngine:
    engine = Registry({"wan": config}).get("wan")
    assert isinstance(engine, WanEngine)
    return engine


def write_image(path, color) -> str:
    Image.new("RGB", (24, 20), color).save(path)
    return str(path)


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory):
    from generation.video import encode_mp4

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(12, 16, 16, 3), dtype=np.uint8)
    path = tmp_path_factory.mktemp("wan-input") / "in.mp4"
    encode_mp4(frames, 16, path)
    return str(path)


def test_text_to_video_is_seeded_reports_steps_and_stays_warm(tiny_wan_dir):
    engine = wan(model=str(tiny_wan_dir))
    progress = NullProgress()

    first = engine.generate(T2V, progress)
    again = engine.generate(T2V, NullProgress())
    other = engine.generate(T2V.replace(seed=2), NullProgress())

    assert first.frames.shape == (9, 16, 16, 3)
    assert first.frames.dtype == np.uint8
    assert first.fps == 16
    assert progress.steps == [(1, 2), (2, 2)]
    assert np.array_equal(first.frames, again.frames)
    assert not np.array_equal(first.frames, other.frames)
    assert engine.load_count == 1
    assert first.info["seed"] == 1


def test_capabilities_follow_the_checkpoint(tiny_wan_dir, tiny_wan_i2v_dir):
    assert WanEngine.capabilities.modes == {"text_to_video", "image_to_video", "video_to_video"}
    assert wan(model=str(tiny_wan_dir)).capabilities.modes == {"text_to_video", "video_to_video"}
    assert wan(model=str(tiny_wan_i2v_dir)).capabilities.modes == {"image_to_video"}
    both = wan(model=str(tiny_wan_dir), i2v_model=str(tiny_wan_i2v_dir))
    assert "image_to_video" in both.capabilities.modes
    assert both.capabilities.round_frames(10) == 9


def test_frames_must_be_4k_plus_1(tiny_wan_dir):
    engine = wan(model=str(tiny_wan_dir))
    with pytest.raises(GenerationError, match=r"4k\+1") as err:
        engine.generate(T2V.replace(num_frames=8), NullProgress())
    assert err.value.field == "num_frames"
    assert engine.load_count == 0


def test_missing_model_is_a_user_facing_error():
    engine = wan()
    with pytest.raises(GenerationError, match="no model configured"):
        engine.generate(T2V, NullProgress())


def test_missing_model_directory_is_named_before_any_memory_estimate(tmp_path):
    engine = wan(model=str(tmp_path / "missing-model"))
    with pytest.raises(GenerationError, match="missing-model does not exist"):
        engine.generate(T2V, NullProgress())


def test_a_model_path_under_the_home_directory(tiny_wan_dir, monkeypatch):
    monkeypatch.setenv("HOME", str(tiny_wan_dir.parent))
    engine = wan(model=f"~/{tiny_wan_dir.name}")
    assert engine.capabilities.modes == {"text_to_video", "video_to_video"}
    assert engine.generate(T2V, NullProgress()).frames.shape == (9, 16, 16, 3)


def test_cancel_lands_within_one_step(tiny_wan_dir):
    class CancelAfterFirst(NullProgress):
        def cancelled(self) -> bool:
            return len(self.steps) >= 1

    engine = wan(model=str(tiny_wan_dir))
    progress = CancelAfterFirst()
    with pytest.raises(Cancelled):
        engine.generate(T2V.replace(steps=3), progress)
    assert progress.steps == [(1, 3)]
    # The engine is still usable after a cancel.
    assert engine.generate(T2V, NullProgress()).frames.shape == (9, 16, 16, 3)


def test_memory_refusal_before_loading_names_nothing_fits(tiny_wan_dir):
    engine = wan(model=str(tiny_wan_dir), max_memory_gb=0.0001)
    with pytest.raises(GenerationError, match="No size fits") as err:
        engine.generate(T2V, NullProgress())
    assert err.value.code == "out_of_memory"
    assert engine.load_count == 0


def test_memory_refusal_suggests_sizes_that_fit(tiny_wan_dir):
    engine = wan(model=str(tiny_wan_dir))
    big = T2V.replace(width=256, height=256, num_frames=33)
    budget = max(
        engine.estimate_memory(big.replace(width=128, height=128)),
        engine.estimate_memory(big.replace(num_frames=17)),
    )
    assert budget < engine.estimate_memory(big)
    engine.max_memory_gb = budget / 1024**3

    with pytest.raises(GenerationError) as err:
        engine.generate(big, NullProgress())
    message = str(err.value)
    assert engine.load_count == 0

    w, h = map(int, re.search(r"(\d+)×(\d+) fits at 33 frames", message).groups())
    assert (w, h) < (256, 256)
    assert engine.estimate_memory(big.replace(width=w, height=h)) <= budget
    frames = int(re.search(r"256×256 fits up to (\d+) frames", message).group(1))
    assert frames < 33 and (frames - 1) % 4 == 0
    assert engine.estimate_memory(big.replace(num_frames=frames)) <= budget


def test_video_to_video_shares_the_loaded_checkpoint(tiny_wan_dir, clip_path):
    from generation.video import read_video

    engine = wan(model=str(tiny_wan_dir))
    engine.generate(T2V, NullProgress())
    request = T2V.replace(mode="video_to_video", video_path=clip_path, steps=4, strength=0.5)

    progress = NullProgress()
    half = engine.generate(request, progress)
    full = engine.generate(request.replace(strength=1.0), NullProgress())
    none = engine.generate(request.replace(strength=0.0), NullProgress())

    assert engine.load_count == 1
    assert (
        engine.pipeline("video_to_video").transformer
        is engine.pipeline("text_to_video").transformer
    )
    assert half.frames.shape == full.frames.shape == (9, 16, 16, 3)
    assert progress.steps == [(1, 2), (2, 2)]  # strength 0.5 of 4 steps
    assert not np.array_equal(half.frames, full.frames)
    source, _ = read_video(clip_path, max_frames=9)
    assert np.array_equal(none.frames, source)


def test_a_short_input_video_is_restyled_on_the_frame_rule(tiny_wan_dir, clip_path):
    engine = wan(model=str(tiny_wan_dir))
    request = T2V.replace(
        mode="video_to_video", video_path=clip_path, num_frames=17, steps=2, strength=0.5
    )
    result = engine.generate(request, NullProgress())
    # The input has 12 frames: the longest 4k+1 count within them is 9.
    assert result.frames.shape[0] == 9
    assert "has only 12 frames; restyled 9" in " ".join(result.notes)


def test_image_to_video_checkpoint_shares_text_encoder_and_vae(
    tiny_wan_dir, tiny_wan_i2v_dir, tmp_path
):
    engine = wan(model=str(tiny_wan_dir), i2v_model=str(tiny_wan_i2v_dir))
    engine.generate(T2V, NullProgress())
    request = T2V.replace(mode="image_to_video", image_path=write_image(tmp_path / "a.png", "red"))

    red = engine.generate(request, NullProgress())
    blue = engine.generate(
        request.replace(image_path=write_image(tmp_path / "b.png", "blue")), NullProgress()
    )

    assert red.frames.shape == (9, 16, 16, 3)
    assert not np.array_equal(red.frames, blue.frames)
    assert engine.load_count == 2  # the I2V checkpoint; its text encoder and VAE are shared
    t2v, i2v = engine.pipeline("text_to_video"), engine.pipeline("image_to_video")
    assert i2v.text_encoder is t2v.text_encoder and i2v.vae is t2v.vae
    assert i2v.transformer is not t2v.transformer

    with pytest.raises(GenerationError, match="first frame only") as err:
        engine.generate(request.replace(last_image_path=request.image_path), NullProgress())
    assert err.value.field == "last_image_path"


def test_first_and_last_frame(tiny_wan_flf2v_dir, tmp_path):
    engine = wan(model=str(tiny_wan_flf2v_dir))
    request = T2V.replace(
        mode="image_to_video",
        image_path=write_image(tmp_path / "first.png", "red"),
        last_image_path=write_image(tmp_path / "last.png", "blue"),
    )

    to_blue = engine.generate(request, NullProgress())
    to_green = engine.generate(
        request.replace(last_image_path=write_image(tmp_path / "green.png", "green")),
        NullProgress(),
    )

    assert to_blue.frames.shape == (9, 16, 16, 3)
    assert to_blue.info["last_frame"] is True
    assert not np.array_equal(to_blue.frames, to_green.frames)
    with pytest.raises(GenerationError, match="add a last frame"):
        engine.generate(request.replace(last_image_path=None), NullProgress())
    assert engine.load_count == 1


def test_importing_the_engine_does_not_import_torch():
    code = (
        "import sys, generation.engines.wan; "
        "sys.exit(1 if {'torch', 'diffusers'} & set(sys.modules) else 0)"
    )
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0
