"""CogVideoX engine on tiny random-weight checkpoints, through the Registry like the worker."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from generation.engines import Registry
from generation.engines.cogvideox import CogVideoXEngine
from generation.spec import Cancelled, GenerationError, GenerationRequest, NullProgress

pytestmark = pytest.mark.usefixtures("offline")

T2V = GenerationRequest(
    prompt="a red fox runs in the snow at night",
    width=32,
    height=32,
    num_frames=9,
    fps=8,
    steps=2,
    seed=1,
)


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def engine(tiny_cogvideox_dir, tiny_cogvideox_i2v_dir) -> CogVideoXEngine:
    """One warm engine for the module, as a worker keeps it between jobs."""
    config = {"model": str(tiny_cogvideox_dir), "i2v_model": str(tiny_cogvideox_i2v_dir)}
    engine = Registry({"cogvideox": config}).get("cogvideox")
    assert isinstance(engine, CogVideoXEngine)
    return engine


@pytest.fixture(scope="module")
def astronaut_png(tmp_path_factory) -> str:
    from skimage import data

    path = tmp_path_factory.mktemp("cogvideox-input") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return str(path)


@pytest.fixture(scope="module")
def pan_mp4(tmp_path_factory) -> str:
    """Twelve 48×48 frames panning across the astronaut (larger than the request)."""
    from skimage import data

    from generation.video import encode_mp4

    still = data.astronaut()[100:196, 150:400]
    frames = np.stack([still[:48, 8 * i : 8 * i + 48] for i in range(12)])
    path = tmp_path_factory.mktemp("cogvideox-input") / "pan.mp4"
    encode_mp4(frames, 8, path)
    return str(path)


class CancelAfter:
    """Progress that asks to cancel once `n` steps have been reported."""

    def __init__(self, n: int):
        self.n = n
        self.steps: list[tuple[int, int]] = []

    def step(self, done, total, preview=None):
        self.steps.append((done, total))

    def cancelled(self) -> bool:
        return len(self.steps) >= self.n


def test_text_to_video_is_seeded_reports_steps_and_stays_warm(engine):
    progress = NullProgress()

    first = engine.generate(T2V, progress)
    again = engine.generate(T2V, NullProgress())
    other = engine.generate(T2V.replace(seed=2), NullProgress())
    longer = engine.generate(T2V.replace(num_frames=17), NullProgress())

    assert first.frames.shape == (9, 32, 32, 3)
    assert first.frames.dtype == np.uint8
    assert first.fps == 8
    assert progress.steps == [(1, 2), (2, 2)]
    assert np.array_equal(first.frames, again.frames)
    assert not np.array_equal(first.frames, other.frames)
    assert longer.frames.shape == (17, 32, 32, 3)
    assert engine.load_count == 1


def test_capabilities_follow_the_checkpoint(tiny_cogvideox_dir, tiny_cogvideox_i2v_dir):
    def caps(**config):
        return Registry({"c": {"kind": "cogvideox", **config}}).get("c").capabilities

    assert CogVideoXEngine.capabilities.modes == {
        "text_to_video",
        "image_to_video",
        "video_to_video",
    }
    t2v = caps(model=str(tiny_cogvideox_dir))
    assert t2v.modes == {"text_to_video", "video_to_video"}
    # CogVideoX 1.0 is trained for one length: the checkpoint's sample_frames.
    assert t2v.max_frames == 17
    assert caps(model=str(tiny_cogvideox_i2v_dir)).modes == {"image_to_video"}
    assert caps(model="THUDM/CogVideoX-5b-I2V").modes == {"image_to_video"}
    # Hub ids not in the cache: the version in the name decides length and frame rate.
    v10, v15 = caps(model="THUDM/CogVideoX-5b"), caps(model="THUDM/CogVideoX1.5-5B")
    assert (v10.max_frames, v10.default_fps) == (49, 8)
    assert (v15.max_frames, v15.default_fps) == (161, 16)


def test_frame_counts_must_be_8k_plus_1(engine):
    with pytest.raises(GenerationError, match=r"8k\+1") as err:
        engine.generate(T2V.replace(num_frames=13), NullProgress())
    assert err.value.field == "num_frames"
    assert engine.capabilities.round_frames(13) in (9, 17)


def test_cancel_lands_within_one_step(engine):
    progress = CancelAfter(1)

    with pytest.raises(Cancelled):
        engine.generate(T2V.replace(steps=4), progress)

    assert progress.steps == [(1, 4)]


def test_image_to_video_shares_the_text_encoder_and_vae(engine, astronaut_png):
    request = T2V.replace(mode="image_to_video", image_path=astronaut_png)
    progress = NullProgress()

    result = engine.generate(request, progress)
    again = engine.generate(request, NullProgress())

    assert result.frames.shape == (9, 32, 32, 3)
    assert result.frames.dtype == np.uint8
    assert progress.steps == [(1, 2), (2, 2)]
    assert np.array_equal(result.frames, again.frames)
    i2v, t2v = engine.pipeline("image_to_video"), engine.pipeline("text_to_video")
    assert i2v.text_encoder is t2v.text_encoder
    assert i2v.vae is t2v.vae
    assert i2v.transformer is not t2v.transformer


def test_image_to_video_with_learned_positions_refuses_other_sizes(engine, astronaut_png):
    request = T2V.replace(mode="image_to_video", image_path=astronaut_png, width=48)

    with pytest.raises(GenerationError, match="only makes 32×32") as err:
        engine.generate(request, NullProgress())

    assert err.value.field == "width"


def test_video_to_video_runs_the_strength_share_of_steps(engine, pan_mp4):
    request = T2V.replace(mode="video_to_video", video_path=pan_mp4, steps=4, strength=0.5)
    progress = NullProgress()

    result = engine.generate(request, progress)
    stronger = engine.generate(request.replace(strength=1.0), NullProgress())

    assert result.frames.shape == (9, 32, 32, 3)
    assert result.frames.dtype == np.uint8
    assert progress.steps == [(1, 2), (2, 2)]
    assert not np.array_equal(result.frames, stronger.frames)
    assert result.info["strength"] == 0.5


def test_video_to_video_strength_zero_returns_the_input(engine, pan_mp4):
    request = T2V.replace(mode="video_to_video", video_path=pan_mp4, strength=0.0)

    result = engine.generate(request, NullProgress())

    assert result.frames.shape == (9, 32, 32, 3)
    assert any("no denoising steps" in note for note in result.notes)


@pytest.mark.parametrize("strength", [-0.1, 1.5])
def test_video_to_video_strength_outside_0_1_is_refused(engine, pan_mp4, strength):
    request = T2V.replace(mode="video_to_video", video_path=pan_mp4, strength=strength)

    with pytest.raises(GenerationError) as err:
        engine.generate(request, NullProgress())

    assert err.value.field == "strength"


def test_video_to_video_shortens_to_the_input_length(engine, pan_mp4):
    request = T2V.replace(mode="video_to_video", video_path=pan_mp4, num_frames=17)

    result = engine.generate(request, NullProgress())

    # Twelve input frames: the longest 8k+1 clip they hold is 9 frames.
    assert result.num_frames == 9
    assert any("only 12 frames" in note for note in result.notes)


def test_compile_setting_does_not_break_a_model_without_repeated_blocks(tiny_cogvideox_dir):
    # CogVideoX names no `_repeated_blocks`, so regional compile does not apply to it.
    engine = CogVideoXEngine(engine_id="cogvideox", model=str(tiny_cogvideox_dir), compile=True)
    result = engine.generate(T2V.replace(steps=1), NullProgress())
    assert result.frames.shape == (9, 32, 32, 3)


def test_importing_the_engine_does_not_import_torch():
    code = "import sys, generation.engines.cogvideox; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
