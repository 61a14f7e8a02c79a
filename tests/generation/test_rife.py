"""RIFE interpolation and the adaptive default, on small real frames (no Django, no network).

Tests that need the RIFE weights fail, rather than skip, when they are missing: CI runs
`scripts/bootstrap.sh` first, which fetches them.
"""

from pathlib import Path

import numpy as np
import pytest
from skimage import data

from generation import enhance, rife
from generation.engines.enhance import EnhanceEngine
from generation.spec import GenerationRequest, NullProgress
from generation.video import encode_mp4

WEIGHTS = Path(__file__).resolve().parents[2] / "var" / "models" / "rife" / "flownet.pkl"


@pytest.fixture(scope="module")
def weights() -> Path:
    if not WEIGHTS.is_file():
        pytest.fail(f"RIFE weights missing at {WEIGHTS}: run scripts/bootstrap.sh")
    return WEIGHTS


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-10)))


def panned(image: np.ndarray, n: int, dx: int, dy: int, h: int = 72, w: int = 96) -> np.ndarray:
    """A camera pan over a photo: real texture moving a few pixels per frame."""
    return np.stack(
        [image[20 + i * dy : 20 + i * dy + h, 20 + i * dx : 20 + i * dx + w] for i in range(n)]
    )


def thrown(n: int, step: int, h: int = 96, w: int = 128) -> np.ndarray:
    """A cat's face flung across a still photo, `step` px a frame: fast action with occlusion."""
    background = data.astronaut()[100 : 100 + h, 150 : 150 + w]
    face = data.chelsea()[60:124, 150:214]  # 64×64, the cat's face
    frames = []
    for i in range(n):
        frame = background.copy()
        x = 4 + i * step
        frame[16:80, x : x + 64] = face[:, : max(0, min(64, w - x))]
        frames.append(frame)
    return np.stack(frames)


@pytest.fixture(scope="module")
def pan() -> np.ndarray:
    return panned(data.astronaut(), 9, 3, 1)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_rife_makes_factor_minus_one_frames_between_pairs(weights, pan, factor):
    kept = pan[::factor][:3]
    progress = NullProgress()
    out, info = enhance.interpolate_with_info(
        kept, factor, method="rife", rife_weights=weights, progress=progress
    )
    assert out.shape == ((len(kept) - 1) * factor + 1, *kept.shape[1:])
    np.testing.assert_array_equal(out[::factor], kept)
    assert info.choices == ("rife", "rife") and info.note == "" and info.rife_share == 1.0
    assert progress.steps == [(1, 2), (2, 2)]
    # The made frames are the dropped ones, not a crossfade of their neighbours.
    made = np.concatenate([out[1:factor], out[factor + 1 : 2 * factor]])
    truth = np.concatenate([pan[1:factor], pan[factor + 1 : 2 * factor]])
    blend = enhance.interpolate(kept, factor, method="blend")
    blended = np.concatenate([blend[1:factor], blend[factor + 1 : 2 * factor]])
    assert psnr(made, truth) > 32
    assert psnr(made, truth) > psnr(blended, truth) + 8


def test_rife_holds_a_scene_cut(weights):
    a = panned(data.astronaut(), 1, 0, 0)[0]
    b = panned(data.coffee(), 1, 0, 0)[0]
    for method in ("rife", "adaptive"):
        out, info = enhance.interpolate_with_info(
            np.stack([a, b]), 4, method=method, rife_weights=weights
        )
        assert info.choices == ("cut",)
        np.testing.assert_array_equal(out[1:3], np.stack([a, a]))
        np.testing.assert_array_equal(out[3:], np.stack([b, b]))


def test_rife_is_deterministic(weights, pan):
    first = enhance.interpolate(pan[::2], 2, method="rife", rife_weights=weights)
    again = enhance.interpolate(pan[::2], 2, method="rife", rife_weights=weights)
    np.testing.assert_array_equal(first, again)


def test_rife_runs_on_the_cpu_and_loads_once(weights, pan):
    model = rife.load(weights, "cpu")
    assert model.device == "cpu"
    assert rife.load(weights, "cpu") is model
    assert not enhance._rife_everywhere(model)  # on the CPU the adaptive method is frugal
    assert {str(p.device) for p in model.weights.values()} == {"cpu"}
    assert not any(k.startswith(("teacher.", "caltime.")) for k in model.weights)
    mids = model(pan[0], pan[2], [0.25, 0.5, 0.75])
    assert mids.shape == (3, *pan.shape[1:]) and mids.dtype == np.uint8
    assert psnr(mids[1], pan[1]) > 32


def test_rife_handles_sides_that_are_not_multiples_of_64(weights):
    clip = panned(data.coffee(), 3, 2, 1, h=50, w=70)
    mid = rife.load(weights, "cpu")(clip[0], clip[2], [0.5])[0]
    assert mid.shape == (50, 70, 3)
    assert psnr(mid, clip[1]) > psnr(enhance.interpolate(clip[::2], 2, method="blend")[1], clip[1])


def test_rife_estimates_flows_smaller_on_large_frames(weights, pan, monkeypatch):
    model = rife.load(weights, "cpu")
    full = model(pan[0], pan[2], [0.5])[0]
    monkeypatch.setattr(rife, "MAX_FLOW_PIXELS", 48 * 64)  # as if 72×96 were 4K
    reduced = model(pan[0], pan[2], [0.5])[0]
    assert reduced.shape == full.shape and not np.array_equal(reduced, full)
    blend = enhance.interpolate(pan[:3:2], 2, method="blend")[1]
    assert psnr(reduced, pan[1]) > psnr(blend, pan[1]) + 5


@pytest.mark.parametrize("method", ["rife", "adaptive"])
def test_missing_weights_fall_back_to_dis_with_a_note(pan, tmp_path, method):
    missing = tmp_path / "nowhere" / "flownet.pkl"
    out, info = enhance.interpolate_with_info(pan[::2], 2, method=method, rife_weights=missing)
    assert info.used == "flow" and set(info.choices) == {"flow"}
    assert info.note == f"RIFE weights not found at {missing}; used optical flow (DIS)."
    np.testing.assert_array_equal(out, enhance.interpolate(pan[::2], 2, method="flow"))


def test_unreadable_weights_fall_back_with_the_reason(pan, tmp_path):
    junk = tmp_path / "flownet.pkl"
    junk.write_bytes(b"not a checkpoint")
    _, info = enhance.interpolate_with_info(pan[::2], 2, method="rife", rife_weights=junk)
    assert info.used == "flow" and "could not be read" in info.note and str(junk) in info.note


def test_no_weights_configured_falls_back(pan):
    _, info = enhance.interpolate_with_info(pan[::2], 2)
    assert info.method == "adaptive" and info.used == "flow"
    assert "no RIFE weights are configured" in info.note


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("rife") / "pan.mp4"
    encode_mp4(panned(data.astronaut(), 5, 3, 1, 32, 48), 12, path)
    return str(path)


def test_engine_labels_the_fallback(clip, tmp_path):
    engine = EnhanceEngine(rife_weights=str(tmp_path / "missing.pkl"))
    assert engine.interpolation == "adaptive"
    result = engine.generate(
        GenerationRequest(mode="interpolate", video_path=clip, scale=2), NullProgress()
    )
    assert result.num_frames == 9
    assert "DIS optical flow" in result.notes[0]
    assert result.notes[1].startswith("RIFE weights not found at ")
    assert result.info == {"method": "flow", "rife_share": 0.0}


def test_engine_uses_rife_when_asked(clip, weights):
    engine = EnhanceEngine(rife_weights=str(weights))
    request = GenerationRequest(
        mode="interpolate", video_path=clip, scale=2, options={"interpolation": "rife"}
    )
    result = engine.generate(request, NullProgress())
    assert result.notes == [result.notes[0]] and "(RIFE)" in result.notes[0]
    assert result.info == {"method": "rife", "rife_share": 1.0}


def test_adaptive_keeps_dis_on_a_pan(weights):
    clip = panned(data.chelsea(), 9, 2, 1, h=96, w=128)
    out, info = enhance.interpolate_with_info(clip[::2], 2, rife_weights=weights)
    assert info.method == "adaptive" and info.choices == ("flow",) * 4
    assert info.rife_share == 0.0 and "RIFE on 0 of 4 frame pairs" in info.summary
    np.testing.assert_array_equal(out, enhance.interpolate(clip[::2], 2, method="flow"))


def test_adaptive_chooses_rife_on_fast_motion(weights):
    clip = thrown(5, 12)  # 24 px between kept frames
    out, info = enhance.interpolate_with_info(clip[::2], 2, rife_weights=weights)
    assert info.choices == ("rife", "rife") and info.rife_share == 1.0
    dis = enhance.interpolate(clip[::2], 2, method="flow")
    assert psnr(out[1::2], clip[1::2]) > psnr(dis[1::2], clip[1::2]) + 3


def test_adaptive_measures_ghosting_from_the_pair_alone():
    pan = panned(data.chelsea(), 3, 2, 1, h=96, w=128)
    fast = thrown(2, 24)
    ghost = {}
    for name, (f0, f1) in {"pan": (pan[0], pan[2]), "fast": (fast[0], fast[1])}.items():
        fl = enhance._dis_flow(f0, f1)
        ghost[name] = enhance._ghosting(fl, enhance._texture(f0, f1))
    assert ghost["pan"] < enhance.GHOSTING_THRESHOLD < ghost["fast"], ghost


def test_adaptive_runs_rife_on_every_pair_on_a_gpu(weights, monkeypatch):
    """On CUDA RIFE is cheap next to DIS: every pair that is not a cut gets it."""
    clip = panned(data.chelsea(), 5, 2, 1, h=96, w=128)
    monkeypatch.setattr(enhance, "_rife_everywhere", lambda model: model.device == "cpu")
    _, info = enhance.interpolate_with_info(clip[::2], 2, rife_weights=weights)
    assert info.choices == ("rife", "rife")
    _, info = enhance.interpolate_with_info(
        clip[::2], 2, rife_weights=weights, rife_on_every_pair=False
    )
    assert info.choices == ("flow", "flow")


def test_adaptive_keeps_dis_on_a_grainy_pan(weights):
    """Grain makes DIS's warps disagree, but no more than the frames' noise: DIS is kept."""
    clip = panned(data.chelsea(), 9, 2, 1, h=96, w=128).astype(np.float32)
    clip += np.random.default_rng(0).normal(0, 2.0, clip.shape)
    clip = np.clip(np.rint(clip), 0, 255).astype(np.uint8)
    _, info = enhance.interpolate_with_info(clip[::2], 2, rife_weights=weights)
    assert info.choices == ("flow",) * 4


def rippling(n: int, amplitude: float = 0.7, period: float = 24.0) -> np.ndarray:
    """A soft photo seen through a moving ripple (heat haze, water): fine non-rigid motion."""
    import cv2

    image = cv2.GaussianBlur(data.astronaut().astype(np.float32), (0, 0), 1.5)
    gy, gx = np.mgrid[0:96, 0:128].astype(np.float32)
    frames = []
    for i in range(n):
        dx = amplitude * np.sin(2 * np.pi * gy / period + 0.6 * i)
        dy = amplitude * np.cos(2 * np.pi * gx / period + 0.6 * i)
        frames.append(cv2.remap(image, gx + 100 + dx, gy + 100 + dy, cv2.INTER_CUBIC))
    return np.clip(np.rint(np.stack(frames)), 0, 255).astype(np.uint8)


def test_adaptive_picks_rife_where_a_consistent_flow_is_imprecise(weights):
    """DIS's flow of a ripple is consistent (nothing would ghost) but imprecise: its warped
    neighbours disagree beyond the noise level, so RIFE runs, and the result is better."""
    clip = rippling(5)
    kept = clip[::2]
    for f0, f1 in zip(kept[:-1], kept[1:], strict=True):
        fl = enhance._dis_flow(f0, f1)
        assert enhance._ghosting(fl, enhance._texture(f0, f1)) < enhance.GHOSTING_THRESHOLD
        assert enhance._warp_error(fl) > max(
            enhance.WARP_ERROR_THRESHOLD, enhance._noise_level(f0, f1)
        )
    out, info = enhance.interpolate_with_info(kept, 2, rife_weights=weights)
    assert info.choices == ("rife", "rife")
    dis = enhance.interpolate(kept, 2, method="flow")
    assert psnr(out[1::2], clip[1::2]) > psnr(dis[1::2], clip[1::2]) + 0.2
