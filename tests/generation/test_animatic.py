import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image

from generation.engines import Registry
from generation.engines.animatic import (
    BATCH,
    NOTE,
    ZOOM,
    AnimaticEngine,
    camera_path,
    frame_matrix,
    title_card,
)
from generation.prompting import CAMERA_MOTIONS
from generation.spec import (
    Cancelled,
    Engine,
    GenerationError,
    GenerationRequest,
    NullProgress,
)

W, H = 320, 192


@pytest.fixture(scope="module")
def astronaut_png(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("inputs") / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(path)
    return str(path)


@pytest.fixture(scope="module")
def engine() -> AnimaticEngine:
    return AnimaticEngine()


def request(**changes) -> GenerationRequest:
    base = GenerationRequest(
        prompt="A lighthouse keeper watches a storm roll in",
        width=W,
        height=H,
        num_frames=17,
        fps=24,
        seed=3,
    )
    if changes.get("image_path"):
        changes.setdefault("mode", "image_to_video")
    return base.replace(**changes)


def render(engine, **changes) -> np.ndarray:
    return engine.generate(request(**changes), NullProgress()).frames


def gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)


def shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """How far the content moved from frame a to frame b, in pixels (x right, y down)."""
    (dx, dy), _ = cv2.phaseCorrelate(gray(a), gray(b))
    return dx, dy


def scale(a: np.ndarray, b: np.ndarray) -> float:
    """The similarity transform's scale from a to b, from matched ORB features."""
    cv2.setRNGSeed(0)
    orb = cv2.ORB_create(1000)
    ka, da = orb.detectAndCompute(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), None)
    kb, db = orb.detectAndCompute(cv2.cvtColor(b, cv2.COLOR_RGB2GRAY), None)
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(da, db)
    pa = np.float32([ka[m.queryIdx].pt for m in matches])
    pb = np.float32([kb[m.trainIdx].pt for m in matches])
    matrix, _ = cv2.estimateAffinePartial2D(pa, pb, method=cv2.RANSAC)
    return float(np.hypot(matrix[0, 0], matrix[1, 0]))


def test_shift_helper_reports_rightward_motion_as_positive_x():
    image = skimage.data.astronaut()
    moved = np.roll(image, 12, axis=1)
    dx, dy = shift(image, moved)
    assert dx == pytest.approx(12, abs=0.5) and dy == pytest.approx(0, abs=0.5)


def test_engine_identity_and_capabilities():
    engine = Registry({"previs": {"kind": "animatic"}}).get("previs")
    assert isinstance(engine, AnimaticEngine) and isinstance(engine, Engine)
    assert engine.id == "previs"
    assert engine.label == "Animatic (camera previs)"
    caps = engine.capabilities
    assert caps.modes == {"text_to_video", "image_to_video"}
    assert not caps.needs_gpu
    assert caps.default_fps == 24
    # Two minutes at its highest frame rate, rendered in one pass.
    assert caps.frames_ok(1) and caps.frames_ok(7200) and not caps.frames_ok(7201)


def test_capabilities_reject_oversized_width(engine):
    with pytest.raises(GenerationError) as exc:
        engine.capabilities.validate(request(width=9999))
    assert exc.value.field == "width"
    engine.capabilities.validate(request(width=1920, height=1088, num_frames=600))


def test_generate_rejects_what_it_cannot_render(engine):
    with pytest.raises(GenerationError) as exc:
        engine.generate(request(width=9999), NullProgress())
    assert exc.value.field == "width"
    with pytest.raises(GenerationError) as exc:
        engine.generate(request(camera_motion="barrel_roll"), NullProgress())
    assert exc.value.field == "camera_motion"


@pytest.mark.parametrize("motion", list(CAMERA_MOTIONS))
def test_every_motion_renders_the_requested_clip(engine, motion):
    result = engine.generate(request(camera_motion=motion, width=160, height=96), NullProgress())
    assert result.frames.shape == (17, 96, 160, 3)
    assert result.frames.dtype == np.uint8
    assert result.fps == 24
    assert result.notes == [NOTE]
    assert result.info["camera_motion"] == motion
    moved = not np.array_equal(result.frames[0], result.frames[-1])
    assert moved == (motion != "static")


def test_honours_odd_sizes_counts_and_rates(engine):
    result = engine.generate(
        request(width=640, height=360, num_frames=5, fps=7, camera_motion="orbit"),
        NullProgress(),
    )
    assert result.frames.shape == (5, 360, 640, 3)
    assert result.fps == 7
    single = render(engine, num_frames=1, camera_motion="zoom_in")
    assert single.shape == (1, H, W, 3)


@pytest.mark.parametrize(
    ("motion", "expected"),
    [
        ("pan_left", (0.3 * W, 0)),
        ("pan_right", (-0.3 * W, 0)),
        ("tilt_up", (0, 0.3 * H)),
        ("tilt_down", (0, -0.3 * H)),
        ("tracking", (-0.3 * W, 0)),
        ("orbit", (-0.18 * W, 0)),
    ],
)
@pytest.mark.parametrize("source", ["image", "title_card"])
def test_translating_moves_go_the_documented_way(engine, astronaut_png, motion, expected, source):
    image = astronaut_png if source == "image" else None
    frames = render(engine, camera_motion=motion, image_path=image)
    dx, dy = shift(frames[0], frames[-1])
    assert dx == pytest.approx(expected[0], abs=0.04 * W)
    assert dy == pytest.approx(expected[1], abs=0.04 * H)


@pytest.mark.parametrize(
    ("motion", "low", "high"),
    [
        ("zoom_in", 1.45, 1.55),
        ("zoom_out", 0.64, 0.69),
        ("dolly_in", 1.3, 1.5),
        ("dolly_out", 0.66, 0.77),
        ("drone", 1.25, 1.45),
        ("crane_up", 0.88, 0.97),
    ],
)
def test_scaling_moves_change_the_apparent_size(engine, astronaut_png, motion, low, high):
    frames = render(engine, camera_motion=motion, image_path=astronaut_png)
    assert low < scale(frames[0], frames[-1]) < high


@pytest.mark.parametrize("motion", list(CAMERA_MOTIONS))
@pytest.mark.parametrize("size", [(640, 368), (368, 640), (512, 512)])
def test_the_camera_never_sees_past_the_still(motion, size):
    w, h = size
    path = camera_path(motion, 48, fps=24, seed=5)
    top = max(1.0, path[:, ZOOM].max())
    src = (round(w * top), round(h * top))
    corners = np.array([[0, w - 1, 0, w - 1], [0, 0, h - 1, h - 1], [1, 1, 1, 1]], float)
    for row in path:
        back = np.linalg.inv(frame_matrix(row, out_size=(w, h), src_size=src)) @ corners
        x, y = back[:2] / back[2]
        assert x.min() > -0.5 and x.max() < src[0] - 0.5
        assert y.min() > -0.5 and y.max() < src[1] - 0.5


def test_moves_ease_in_and_out(engine, astronaut_png):
    frames = render(engine, camera_motion="pan_right", image_path=astronaut_png, num_frames=25)
    start = abs(shift(frames[0], frames[2])[0])
    middle = abs(shift(frames[11], frames[13])[0])
    end = abs(shift(frames[22], frames[24])[0])
    assert middle > 3 * start and middle > 3 * end


def test_static_shows_the_input_image_unchanged(engine, astronaut_png):
    frames = render(engine, camera_motion="static", image_path=astronaut_png)
    assert all(np.array_equal(frames[0], f) for f in frames[1:])
    # The astronaut is square: cover-fit to 320 wide, then keep the middle 192 rows.
    expected = cv2.resize(skimage.data.astronaut(), (W, W), interpolation=cv2.INTER_AREA)
    expected = expected[(W - H) // 2 : (W - H) // 2 + H]
    correlation = np.corrcoef(gray(frames[0]).ravel(), gray(expected).ravel())[0, 1]
    assert correlation > 0.98
    title = render(engine, camera_motion="static")
    other = np.corrcoef(gray(title[0]).ravel(), gray(expected).ravel())[0, 1]
    assert other < 0.5


def test_handheld_shakes_a_little_every_frame(engine, astronaut_png):
    frames = render(engine, camera_motion="handheld", image_path=astronaut_png, num_frames=48)
    assert not any(np.array_equal(a, b) for a, b in zip(frames, frames[1:], strict=False))
    shifts = np.array([shift(frames[0], f) for f in frames[1:]])
    assert np.abs(shifts).max() > 1.0
    assert np.abs(shifts[:, 0]).max() < 0.04 * W
    assert np.abs(shifts[:, 1]).max() < 0.04 * H


def test_handheld_shake_depends_on_the_seed(engine, astronaut_png):
    a = render(engine, camera_motion="handheld", image_path=astronaut_png, seed=1)
    b = render(engine, camera_motion="handheld", image_path=astronaut_png, seed=2)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("motion", ["handheld", "orbit", "static"])
def test_same_request_gives_identical_bytes(engine, motion):
    a = render(engine, camera_motion=motion, seed=11)
    b = AnimaticEngine().generate(request(camera_motion=motion, seed=11), NullProgress())
    assert a.tobytes() == b.frames.tobytes()


def test_title_card_depends_on_seed_and_prompt(engine):
    base = render(engine, seed=11, num_frames=1)
    other_seed = render(engine, seed=12, num_frames=1)
    other_prompt = render(engine, seed=11, num_frames=1, prompt="A cat naps in the sun")
    assert np.abs(base.astype(int) - other_seed).mean() > 5
    assert not np.array_equal(base, other_prompt)


def test_title_card_draws_the_prompt():
    with_text = title_card("Bright letters", 640, 360, seed=5)
    without = title_card("", 640, 360, seed=5)
    bright = (with_text.max(axis=2) > 235).sum()
    assert bright > 200
    assert bright > 10 * max(1, (without.max(axis=2) > 235).sum())


def test_unreadable_image_names_the_field(engine, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(GenerationError) as exc:
        render(engine, image_path=str(bad))
    assert exc.value.field == "image_path"


def test_progress_reports_batches_up_to_the_total(engine):
    progress = NullProgress()
    engine.generate(request(num_frames=20), progress)
    assert progress.steps == [(BATCH, 20), (2 * BATCH, 20), (20, 20)]


class CancelAfterFirstBatch(NullProgress):
    def cancelled(self) -> bool:
        return bool(self.steps)


def test_cancel_lands_within_one_batch(engine):
    progress = CancelAfterFirstBatch()
    with pytest.raises(Cancelled):
        engine.generate(request(num_frames=100, camera_motion="orbit"), progress)
    assert progress.steps == [(BATCH, 100)]


def test_importing_the_engine_stays_light():
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys, generation.engines.animatic; "
        "print(sorted(m for m in ('cv2', 'PIL', 'torch', 'django') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_camera_speed_slow_covers_less_and_fast_lands_then_holds():
    from generation.engines.animatic import _paced_path

    normal = _paced_path("pan_left", 20, fps=10, seed=1, options={})
    slow = _paced_path("pan_left", 20, fps=10, seed=1, options={"camera_speed": 0.5})
    fast = _paced_path("pan_left", 20, fps=10, seed=1, options={"camera_speed": 2.0})
    travel = lambda p: abs(p[-1] - p[0]).sum()  # noqa: E731
    assert travel(slow) < travel(normal) * 0.6
    assert travel(fast) == pytest.approx(travel(normal))
    assert (fast[10:] == fast[-1]).all() and not (normal[10:] == normal[-1]).all()
    with pytest.raises(GenerationError):
        _paced_path("pan_left", 20, fps=10, seed=1, options={"camera_speed": 0})
