import numpy as np
import pytest
from skimage import data

from generation import enhance
from generation.engines import Registry
from generation.engines.enhance import EnhanceEngine
from generation.spec import Cancelled, GenerationError, GenerationRequest, NullProgress
from generation.video import encode_mp4


def panned(image: np.ndarray, n: int, dx: int, dy: int, h: int, w: int) -> np.ndarray:
    """A camera pan over a photo: real texture moving a few pixels per frame."""
    return np.stack(
        [image[10 + i * dy : 10 + i * dy + h, 10 + i * dx : 10 + i * dx + w] for i in range(n)]
    )


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-10)))


@pytest.fixture(scope="module")
def pan() -> np.ndarray:
    return panned(data.astronaut(), 9, 4, 2, 96, 128)


class CancelAfter(NullProgress):
    def __init__(self, steps: int):
        super().__init__()
        self.limit = steps

    def cancelled(self) -> bool:
        return len(self.steps) >= self.limit


def test_flow_rebuilds_dropped_frames_better_than_blend_and_duplicate(pan):
    kept = pan[::2]
    scores = {}
    for method in ("flow", "blend", "duplicate"):
        rebuilt = enhance.interpolate(kept, 2, method=method)
        assert rebuilt.shape == pan.shape
        np.testing.assert_array_equal(rebuilt[::2], kept)
        scores[method] = psnr(rebuilt[1::2], pan[1::2])
    assert scores["flow"] > scores["blend"] + 5, scores
    assert scores["flow"] > scores["duplicate"] + 5, scores
    assert scores["flow"] > 32, scores


@pytest.mark.parametrize("factor", [3, 4])
def test_factors_3_and_4_give_expected_lengths_and_keep_originals(pan, factor):
    kept = pan[::factor][:3]
    progress = NullProgress()
    out = enhance.interpolate(kept, factor, progress=progress)
    assert out.shape == ((len(kept) - 1) * factor + 1, *kept.shape[1:])
    np.testing.assert_array_equal(out[::factor], kept)
    assert progress.steps == [(1, 2), (2, 2)]


def test_interpolated_frames_move_between_neighbours():
    # A bright square sliding right 8 px per frame: the middle frame has it halfway.
    frames = np.zeros((2, 48, 64, 3), np.uint8)
    frames[0, 16:32, 16:32] = 255
    frames[1, 16:32, 24:40] = 255
    mid = enhance.interpolate(frames, 2)[1]
    cols = np.nonzero(mid[24, :, 0] > 128)[0]
    assert 18 <= cols.min() <= 22 and 34 <= cols.max() <= 38, cols


def test_scene_cut_is_held_not_blended():
    a = panned(data.astronaut(), 1, 0, 0, 64, 96)[0]
    b = panned(data.coffee(), 1, 0, 0, 64, 96)[0]
    out = enhance.interpolate(np.stack([a, b]), 4)
    np.testing.assert_array_equal(out[1:3], np.stack([a, a]))
    np.testing.assert_array_equal(out[3], b)


def test_flow_on_frames_too_small_for_optical_flow_blends():
    frames = np.stack([np.zeros((8, 10, 3), np.uint8), np.full((8, 10, 3), 100, np.uint8)])
    out = enhance.interpolate(frames, 2)
    assert out.shape == (3, 8, 10, 3) and (out[1] == 50).all()


def test_interpolate_rejects_bad_factor_method_and_short_clip(pan):
    with pytest.raises(GenerationError) as err:
        enhance.interpolate(pan, 5)
    assert err.value.field == "scale"
    with pytest.raises(GenerationError, match="Unknown interpolation method"):
        enhance.interpolate(pan, 2, method="film")
    with pytest.raises(GenerationError, match="at least two frames"):
        enhance.interpolate(pan[:1], 2)


def test_registered_interpolator_is_used(pan, monkeypatch):
    calls = []

    def grey(f0, f1, times):
        calls.append(list(times))
        return np.full((len(times), *f0.shape), 128, np.uint8)

    monkeypatch.setattr(enhance, "_INTERPOLATORS", dict(enhance._INTERPOLATORS))
    enhance.register_interpolator("grey", grey)
    out = enhance.interpolate(pan[:3], 4, method="grey")
    assert calls == [[0.25, 0.5, 0.75]] * 2
    assert (out[1:4] == 128).all() and "grey" in enhance.interpolators()


def test_interpolate_cancel_lands_within_one_pair(pan):
    progress = CancelAfter(2)
    with pytest.raises(Cancelled):
        enhance.interpolate(pan, 2, progress=progress)
    assert len(progress.steps) == 2


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("enhance") / "pan.mp4"
    encode_mp4(panned(data.astronaut(), 5, 3, 1, 32, 48), 12, path)
    return str(path)


def test_engine_is_built_by_the_registry_with_config():
    engine = Registry({"enhance": {"interpolation": "blend", "upscaler": "lanczos"}}).get("enhance")
    assert isinstance(engine, EnhanceEngine)
    assert engine.id == "enhance" and engine.interpolation == "blend"
    assert engine.capabilities.modes == {"interpolate", "upscale", "enhance"}


def test_engine_interpolates_keeping_duration(clip):
    engine = EnhanceEngine()
    request = GenerationRequest(mode="interpolate", video_path=clip, scale=3, fps=12)
    engine.capabilities.validate(request.replace(width=48, height=32))
    result = engine.generate(request, NullProgress())
    assert result.num_frames == (5 - 1) * 3 + 1
    assert result.fps == pytest.approx(36)
    assert (result.width, result.height) == (48, 32)
    assert "flow" in result.notes[0]


def test_engine_rejects_bad_inputs(clip, tmp_path):
    engine = EnhanceEngine()
    with pytest.raises(GenerationError) as err:
        engine.generate(GenerationRequest(mode="upscale", video_path=clip, scale=5), NullProgress())
    assert err.value.field == "scale"
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 50)
    for path in (empty, junk):
        request = GenerationRequest(mode="interpolate", video_path=str(path), scale=2)
        with pytest.raises(GenerationError, match="not a readable video") as err:
            engine.generate(request, NullProgress())
        assert err.value.field == "video_path"
    with pytest.raises(GenerationError) as err:
        engine.generate(GenerationRequest(mode="text_to_video", prompt="x"), NullProgress())
    assert err.value.field == "mode"


def grainy(clip: np.ndarray, sigma: float) -> np.ndarray:
    """The clip with fresh Gaussian grain on every frame, as a camera adds."""
    noise = np.random.default_rng(0).normal(0, sigma, clip.shape)
    return np.clip(np.rint(clip + noise), 0, 255).astype(np.uint8)


def test_warp_error_is_small_on_a_pan_and_grain_does_not_count_as_imprecision():
    clip = panned(data.chelsea(), 3, 2, 1, 96, 128)
    fl = enhance._dis_flow(clip[0], clip[2])
    assert enhance._warp_error(fl) < 0.5 < enhance.WARP_ERROR_THRESHOLD
    assert not enhance._unsure(fl, enhance._texture(clip[0], clip[2]))
    noisy = grainy(clip, 2.0)
    fl = enhance._dis_flow(noisy[0], noisy[2])
    # Grain makes even exact warps disagree, beyond the fixed threshold but not beyond the
    # frames' own noise level, so DIS stays sure of the pan.
    assert enhance._warp_error(fl) > enhance.WARP_ERROR_THRESHOLD
    assert enhance._noise_level(noisy[0], noisy[2]) > enhance._warp_error(fl)
    assert not enhance._unsure(fl, enhance._texture(noisy[0], noisy[2]))


def test_noise_level_measures_grain_not_smooth_content():
    smooth = np.tile(np.linspace(0, 255, 128, dtype=np.float32), (96, 1))
    smooth = np.repeat(smooth[..., None], 3, axis=2).astype(np.uint8)
    assert enhance._noise_level(smooth, smooth) < 0.5
    noisy = grainy(np.stack([smooth, smooth]), 4.0)
    assert 3.0 < enhance._noise_level(noisy[0], noisy[1]) < 5.0


def thrown_cat(n: int, step: int) -> np.ndarray:
    """A cat's face flung `step` px a frame across a still photo: DIS loses track of it."""
    background = data.astronaut()[100:196, 150:278]
    face = data.chelsea()[60:124, 150:214]
    frames = []
    for i in range(n):
        frame = background.copy()
        frame[16:80, 4 + i * step : 68 + i * step] = face
        frames.append(frame)
    return np.stack(frames)


def test_blend_keeps_dis_where_the_other_methods_warps_disagree(pan):
    f0, f1 = pan[0], pan[2]
    fl = enhance._dis_flow(f0, f1)
    dis = fl.render([0.5])
    black, white = np.zeros((1, *f0.shape), np.uint8), np.full((1, *f0.shape), 255, np.uint8)
    out = enhance._blend_by_warp_error(fl, [0.5], black.astype(np.float32), black, white)
    # Only at the frame's edges, where DIS crossfades content entering the frame, does
    # the other method get any weight, and there only a little.
    diff = np.abs(out.astype(int) - dis)
    assert diff.mean() < 0.25 and diff.max() <= 4, (diff.mean(), diff.max())


def test_blend_takes_the_other_method_where_dis_loses_track():
    clip = thrown_cat(3, 20)  # the face jumps 40 px between kept frames
    fl = enhance._dis_flow(clip[0], clip[2])
    truth = clip[1:2]
    # A second method whose two warps agree (sure of itself) and which is right.
    out = enhance._blend_by_warp_error(fl, [0.5], truth.astype(np.float32), truth, truth)
    dis = fl.render([0.5])
    region = (slice(None), slice(16, 80), slice(4, 108))  # where the face moves
    assert psnr(out[region], truth[region]) > psnr(dis[region], truth[region]) + 6
    # Where DIS is sure (the still background) the two are averaged: nothing is lost.
    still = (slice(None), slice(84, 96))
    assert psnr(out[still], truth[still]) >= psnr(dis[still], truth[still]) - 0.1
