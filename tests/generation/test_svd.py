"""Stable Video Diffusion engine on a tiny random-weight checkpoint, through the Registry."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from generation.engines import Registry
from generation.engines.svd import SVDEngine
from generation.spec import Cancelled, GenerationError, GenerationRequest, NullProgress

pytestmark = pytest.mark.usefixtures("offline")


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def engine(tiny_svd_dir) -> SVDEngine:
    """One warm engine for the module, as a worker keeps it between jobs."""
    engine = Registry({"svd": {"model": str(tiny_svd_dir)}}).get("svd")
    assert isinstance(engine, SVDEngine)
    return engine


@pytest.fixture(scope="module")
def request_(tmp_path_factory) -> GenerationRequest:
    from skimage import data

    path = tmp_path_factory.mktemp("svd-input") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return GenerationRequest(
        mode="image_to_video",
        image_path=str(path),
        width=64,
        height=64,
        num_frames=4,
        fps=7,
        steps=2,
        seed=3,
    )


class CancelAfter:
    """Progress that asks to cancel once `n` steps have been reported."""

    def __init__(self, n: int):
        self.n = n
        self.steps: list[tuple[int, int]] = []

    def step(self, done, total, preview=None):
        self.steps.append((done, total))

    def cancelled(self) -> bool:
        return len(self.steps) >= self.n


@pytest.fixture(scope="module")
def baseline(engine, request_):
    """The default-option clip, with the steps it reported; compared against below."""
    progress = NullProgress()
    return engine.generate(request_, progress), progress.steps


def test_image_to_video_is_seeded_reports_steps_and_stays_warm(engine, request_, baseline):
    first, steps = baseline

    again = engine.generate(request_, NullProgress())
    other = engine.generate(request_.replace(seed=4), NullProgress())

    assert first.frames.shape == (4, 64, 64, 3)
    assert first.frames.dtype == np.uint8
    assert first.fps == 7
    assert steps == [(1, 2), (2, 2)]
    assert np.array_equal(first.frames, again.frames)
    assert not np.array_equal(first.frames, other.frames)
    assert engine.load_count == 1
    assert first.notes == []
    assert first.info["motion_bucket_id"] == 127


def test_micro_conditions_change_the_video(engine, request_, baseline):
    calmer = engine.generate(
        request_.replace(options={"motion_bucket_id": 10, "decode_chunk_size": 1}), NullProgress()
    )

    assert calmer.frames.shape == baseline[0].frames.shape
    assert not np.array_equal(baseline[0].frames, calmer.frames)
    assert calmer.info["motion_bucket_id"] == 10


def test_a_prompt_is_ignored_with_a_note(engine, request_, baseline):
    prompted = engine.generate(request_.replace(prompt="a cat walks"), NullProgress())

    assert np.array_equal(baseline[0].frames, prompted.frames)
    assert len(prompted.notes) == 1
    assert "ignored the prompt" in prompted.notes[0]


def test_text_to_video_is_refused_naming_the_supported_mode(engine):
    request = GenerationRequest(prompt="a cat", width=64, height=64, num_frames=4, fps=7)

    with pytest.raises(GenerationError, match="supports: image_to_video") as err:
        engine.generate(request, NullProgress())

    assert err.value.field == "mode"
    assert engine.load_count <= 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"width": 96}, "width", "multiple of 64"),
        ({"num_frames": 26}, "num_frames", "2–25 frames"),
        ({"options": {"motion_bucket_id": 300}}, "options", "motion_bucket_id"),
        ({"options": {"noise_aug_strength": 2}}, "options", "noise_aug_strength"),
        ({"options": {"decode_chunk_size": 0}}, "options", "decode_chunk_size"),
        # The memory check reads this option before the mode does: still a user error.
        ({"options": {"decode_chunk_size": "eight"}}, "options", "not a number"),
        ({"options": {"decode_chunk_size": None}}, "options", "not a number"),
    ],
)
def test_out_of_range_requests_are_refused(engine, request_, changes, field, message):
    with pytest.raises(GenerationError, match=message) as err:
        engine.generate(request_.replace(**changes), NullProgress())

    assert err.value.field == field


def test_cancel_lands_within_one_step(engine, request_):
    progress = CancelAfter(1)

    with pytest.raises(Cancelled):
        engine.generate(request_.replace(steps=4), progress)

    assert progress.steps == [(1, 4)]


def test_memory_estimate_grows_with_the_decode_chunk():
    engine = SVDEngine(engine_id="svd", model="stabilityai/stable-video-diffusion-img2vid-xt")
    request = GenerationRequest(mode="image_to_video", width=1024, height=576, num_frames=25)

    small = engine.estimate_memory(request.replace(options={"decode_chunk_size": 2}))
    large = engine.estimate_memory(request.replace(options={"decode_chunk_size": 25}))

    assert small < large


def test_importing_the_engine_does_not_import_torch():
    code = "import sys, generation.engines.svd; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
