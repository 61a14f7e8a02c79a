"""Upscaling: Real-ESRGAN in tiles (ncnn and torch runtimes), Lanczos, and the enhance engine."""

import dataclasses

import cv2
import numpy as np
import pytest
from skimage import data

from generation import upscale
from generation.cache import PipelineCache
from generation.engines.enhance import EnhanceEngine, plan_target
from generation.spec import Cancelled, GenerationError, GenerationRequest, NullProgress
from generation.video import encode_mp4, probe


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-10)))


def panned(image: np.ndarray, n: int, dx: int, dy: int, h: int, w: int) -> np.ndarray:
    """A camera pan over a photo: real texture moving a few pixels per frame."""
    return np.stack(
        [image[10 + i * dy : 10 + i * dy + h, 10 + i * dx : 10 + i * dx + w] for i in range(n)]
    )


class CancelAfter(NullProgress):
    def __init__(self, steps: int):
        super().__init__()
        self.limit = steps

    def cancelled(self) -> bool:
        return len(self.steps) >= self.limit


class Counting:
    """Wrap a runtime's network to count the tiles it is asked to upscale."""

    def __init__(self, net):
        self.net, self.tiles = net, 0

    def __call__(self, image, native):
        self.tiles += 1
        return self.net(image, native)


@pytest.fixture
def one_torch_thread():
    """Run torch on one thread: with two, another busy process on a 2-CPU machine makes its
    OpenMP threads wait on each other (a 0.6 s RRDB tile took 20 s). Pixels are the same."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny() -> np.ndarray:
    return panned(data.chelsea(), 2, 2, 1, 32, 32)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A 96×128 crop of a real photo: smooth skin and sharp edges, one frame."""
    return data.astronaut()[20:116, 180:308][None].copy()


@pytest.mark.parametrize(
    ("scale", "weights"),
    [
        (2, "realesr-animevideov3-x2"),
        (3, "realesr-animevideov3-x3"),
        (4, "realesr-animevideov3-x4"),
    ],
)
def test_fast_model_upscales_natively_by_2_3_and_4(tiny, scale, weights):
    progress = NullProgress()
    out, info = upscale.upscale_with_info(tiny, scale, backend="realesrgan", progress=progress)
    assert out.shape == (2, 32 * scale, 32 * scale, 3) and out.dtype == np.uint8
    assert (info.backend, info.model, info.runtime) == ("realesrgan", weights, "ncnn on cpu")
    assert "Real-ESRGAN" in info.note and "fast" in info.note
    assert progress.steps == [(1, 2), (2, 2)]  # one tile per 32×32 frame
    # Shrunk back, the output is close to its input: the model ran, not noise.
    back = cv2.resize(out[0], (32, 32), interpolation=cv2.INTER_AREA)
    assert psnr(back, tiny[0]) > 25


def test_fast_is_the_default_model(tiny):
    _, info = upscale.upscale_with_info(tiny[:1], 2)
    assert info.model == "realesr-animevideov3-x2"


# The RRDB models take ~0.5 s (anime) to ~1.5 s (general) per 32×32 frame on 2 CPUs.
@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "scale", "weights"),
    [
        ("general", 2, "realesrgan-x4plus"),
        ("general", 3, "realesrgan-x4plus"),
        ("anime", 4, "realesrgan-x4plus-anime"),
    ],
)
def test_rrdb_models_shapes(tiny, model, scale, weights):
    out, info = upscale.upscale_with_info(tiny[:1], scale, model=model, backend="realesrgan")
    assert out.shape == (1, 32 * scale, 32 * scale, 3)
    assert (info.backend, info.model) == ("realesrgan", weights)
    back = cv2.resize(out[0], (32, 32), interpolation=cv2.INTER_AREA)
    assert psnr(back, tiny[0]) > 25


def test_tile_boxes_cover_the_frame_once_in_near_equal_tiles():
    boxes = upscale.tile_boxes(96, 130, 32)
    assert len(boxes) == 3 * 5
    cover = np.zeros((96, 130), int)
    for y0, y1, x0, x1 in boxes:
        cover[y0:y1, x0:x1] += 1
        assert (y1 - y0, x1 - x0) == (32, 26)
    assert (cover == 1).all()
    assert upscale.tile_boxes(20, 20, 256) == [(0, 20, 0, 20)]


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_tiled_frame_equals_the_whole_frame(photo, scale):
    progress = NullProgress()
    tiled = upscale.upscale(photo, scale, backend="realesrgan", tile=32, progress=progress)
    whole = upscale.upscale(photo, scale, backend="realesrgan", tile=1000)
    assert len(progress.steps) == 3 * 4  # it did run in tiles
    diff = np.abs(tiled.astype(int) - whole)
    assert diff.max() <= 1 and diff.mean() < 0.01, (diff.max(), diff.mean())


def test_tiles_without_context_would_show_seams(photo, monkeypatch):
    """The check above can fail: cropping tiles without their neighbours leaves seams."""
    key = ("fast", 2)
    monkeypatch.setitem(
        upscale._WEIGHTS, key, dataclasses.replace(upscale._WEIGHTS[key], context=0)
    )
    tiled = upscale.upscale(photo, 2, backend="realesrgan", tile=32)
    monkeypatch.undo()
    whole = upscale.upscale(photo, 2, backend="realesrgan", tile=1000)
    assert np.abs(tiled.astype(int) - whole).max() > 10


@pytest.mark.slow
def test_general_model_tiles_leave_no_visible_seams(photo):
    """RRDB sees further than any context: tiles cross-fade so no edge marks the seams.

    Cropped instead, these seams jumped by 2.2 and 3.5 grey levels more than the
    whole-frame image does at the same place.
    """
    frame = photo[:, :64, :96]
    tiled = upscale.upscale(frame, 4, model="general", backend="realesrgan", tile=32)
    whole = upscale.upscale(frame, 4, model="general", backend="realesrgan", tile=1000)
    diff = np.abs(tiled.astype(int) - whole)
    assert diff.mean() < 1.5 and np.percentile(diff, 99) <= 8, diff.mean()
    for x in (32 * 4, 64 * 4):  # the jump across each seam is the whole frame's jump
        jump = tiled[0, :, x].astype(int) - tiled[0, :, x - 1]
        true = whole[0, :, x].astype(int) - whole[0, :, x - 1]
        assert np.abs(jump - true).mean() < 1.5


@pytest.mark.parametrize("scale", [2, 4])
def test_torch_runtime_matches_ncnn(photo, scale, one_torch_thread):
    """The torch graph (the CUDA path) reads the same weights and gives the same pixels."""
    ncnn, info_n = upscale.upscale_with_info(photo, scale, backend="realesrgan", runtime="ncnn")
    torch, info_t = upscale.upscale_with_info(
        photo, scale, backend="realesrgan", runtime="torch", device="cpu"
    )
    assert (info_n.runtime, info_t.runtime) == ("ncnn on cpu", "torch on cpu")
    diff = np.abs(torch.astype(int) - ncnn)
    assert diff.max() <= 1 and diff.mean() < 0.01


@pytest.mark.slow
def test_torch_runtime_matches_ncnn_for_the_general_model(tiny, one_torch_thread):
    kw = {"model": "general", "backend": "realesrgan"}
    ncnn = upscale.upscale(tiny[:1], 4, runtime="ncnn", **kw)
    torch = upscale.upscale(tiny[:1], 4, runtime="torch", device="cpu", **kw)
    assert np.abs(torch.astype(int) - ncnn).max() <= 1


def test_auto_runtime_is_torch_on_cuda_and_ncnn_on_the_cpu(monkeypatch):
    monkeypatch.setattr(upscale, "_cuda_available", lambda: False)
    assert upscale.resolve_runtime() == ("ncnn", "cpu")
    assert upscale.resolve_runtime("torch") == ("torch", "cpu")
    monkeypatch.setattr(upscale, "_cuda_available", lambda: True)
    assert upscale.resolve_runtime() == ("torch", "cuda")
    assert upscale.resolve_runtime(device="cuda:1") == ("torch", "cuda:1")
    assert upscale.resolve_runtime("ncnn") == ("ncnn", "cpu")
    with pytest.raises(GenerationError, match="Unknown upscale runtime"):
        upscale.resolve_runtime("vulkan")


def test_torch_weights_live_in_the_worker_cache(tiny, one_torch_thread):
    cache = PipelineCache(device="cpu")
    out, info = upscale.upscale_with_info(
        tiny, 2, runtime="torch", device="cpu", cache=cache, cache_owner="enh"
    )
    assert info.runtime == "torch on cpu" and out.shape == (2, 64, 64, 3)
    assert cache.resident() == [("enh", "realesr-animevideov3-x2", "NcnnGraph")]
    assert cache.resident_bytes("cpu") > 2_000_000  # the fp32 weights, counted once
    cache.unload("enh")
    assert cache.resident() == []


def test_progress_moves_once_per_tile_of_every_frame(photo):
    frames = np.concatenate([photo, photo[:, ::-1]])
    progress = NullProgress()
    upscale.upscale(frames, 2, tile=48, progress=progress)
    total = upscale.upscale_steps(2, 96, 128, 2, tile=48)
    assert total == 2 * (2 * 3)
    assert progress.steps == [(i, total) for i in range(1, total + 1)]


def test_cancel_lands_between_tiles(photo, monkeypatch):
    nets = []
    load = upscale._load_net

    def counting(*args):
        net, how = load(*args)
        nets.append(Counting(net))
        return nets[-1], how

    monkeypatch.setattr(upscale, "_load_net", counting)
    progress = CancelAfter(3)
    with pytest.raises(Cancelled):
        upscale.upscale(photo, 2, tile=32, progress=progress)
    assert nets[0].tiles == 3 and len(progress.steps) == 3  # of 12 tiles in the frame


def test_size_shrinks_the_result_to_a_target(tiny):
    out, info = upscale.upscale_with_info(tiny, 3, size=(90, 90))
    assert out.shape == (2, 90, 90, 3) and info.backend == "realesrgan"
    out, info = upscale.upscale_with_info(tiny, 2, size=(60, 60), backend="lanczos")
    assert out.shape == (2, 60, 60, 3) and info.backend == "lanczos"
    with pytest.raises(GenerationError, match="cannot be shrunk to 70×70"):
        upscale.upscale(tiny, 2, size=(70, 70))


def test_lanczos_upscale_is_labelled(tiny):
    out, info = upscale.upscale_with_info(tiny, 4, backend="lanczos")
    assert out.shape == (2, 128, 128, 3)
    assert info.backend == "lanczos" and "Lanczos" in info.note


def test_auto_falls_back_to_lanczos_when_realesrgan_cannot_load(tiny, monkeypatch):
    def broken(index, tilesize):
        raise ImportError("libvulkan.so.1: cannot open shared object file")

    monkeypatch.setattr(upscale, "_load_realesrgan", broken)
    out, info = upscale.upscale_with_info(tiny, 2)
    assert out.shape == (2, 64, 64, 3)
    assert info.backend == "lanczos" and "libvulkan" in info.note
    with pytest.raises(GenerationError, match="not available"):
        upscale.upscale(tiny, 2, backend="realesrgan")


def test_auto_falls_back_when_output_is_garbage(tiny, monkeypatch):
    class Noise:
        def process_pil(self, image):
            from PIL import Image

            rng = np.random.default_rng(0)
            size = (image.height * 4, image.width * 4, 3)
            return Image.fromarray(rng.integers(0, 256, size, dtype=np.uint8))

    monkeypatch.setattr(upscale, "_load_realesrgan", lambda index, tilesize: Noise())
    out, info = upscale.upscale_with_info(tiny, 4)
    assert info.backend == "lanczos" and "implausible" in info.note
    np.testing.assert_array_equal(out, upscale.upscale(tiny, 4, backend="lanczos"))
    with pytest.raises(GenerationError, match="implausible"):
        upscale.upscale(tiny, 4, backend="realesrgan")


def test_fallback_after_some_frames_never_moves_progress_back(monkeypatch):
    frames = np.stack([np.full((16, 16, 3), 40 * i, np.uint8) for i in range(4)])

    class GoodThenGarbage:
        """Upscales the first two frames properly, then returns noise."""

        def __init__(self):
            self.calls = 0

        def process_pil(self, image):
            from PIL import Image

            self.calls += 1
            big = image.resize((image.width * 4, image.height * 4))
            if self.calls > 2:
                rng = np.random.default_rng(0)
                return Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
            return big

    monkeypatch.setattr(upscale, "_load_realesrgan", lambda index, tilesize: GoodThenGarbage())
    progress = NullProgress()
    _, info = upscale.upscale_with_info(frames, 4, progress=progress)
    assert info.backend == "lanczos"
    done = [d for d, _ in progress.steps]
    assert done == sorted(done)
    assert progress.steps[-1] == (4, 4)


def test_upscale_rejects_bad_scale_model_and_backend(tiny):
    with pytest.raises(GenerationError) as err:
        upscale.upscale(tiny, 5)
    assert err.value.field == "scale" and "×2, ×3, ×4" in err.value.message
    with pytest.raises(GenerationError, match="Unknown upscale model"):
        upscale.upscale(tiny, 2, model="cartoon")
    with pytest.raises(GenerationError, match="Unknown upscaler"):
        upscale.upscale(tiny, 2, backend="magic")


def test_lanczos_cancel(tiny):
    progress = CancelAfter(1)
    with pytest.raises(Cancelled):
        upscale.upscale(tiny, 2, backend="lanczos", progress=progress)
    assert progress.steps == [(1, 2)]


# -- the engine ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("upscale") / "pan.mp4"
    encode_mp4(panned(data.astronaut(), 5, 3, 1, 32, 48), 12, path)
    return str(path)


def test_engine_upscales_with_lanczos_when_configured(clip):
    engine = EnhanceEngine(upscaler="lanczos")
    request = GenerationRequest(mode="upscale", video_path=clip, scale=2)
    result = engine.generate(request, NullProgress())
    assert (result.num_frames, result.width, result.height) == (5, 96, 64)
    assert result.fps == pytest.approx(probe(clip).fps)
    assert result.info["backend"] == "lanczos" and "Lanczos" in result.notes[0]


@pytest.mark.parametrize(
    ("options", "scale", "weights"),
    [
        ({}, 3, "realesr-animevideov3-x3"),
        ({"upscale_model": "anime"}, 2, "realesrgan-x4plus-anime"),
    ],
)
def test_engine_upscale_uses_requested_model(clip, options, scale, weights):
    request = GenerationRequest(mode="upscale", video_path=clip, scale=scale, options=options)
    result = EnhanceEngine().generate(request, NullProgress())
    assert result.info == {"backend": "realesrgan", "model": weights, "runtime": "ncnn on cpu"}
    assert (result.width, result.height) == (48 * scale, 32 * scale)


def test_engine_rejects_upscale_beyond_its_largest_side(tmp_path):
    path = tmp_path / "wide.mp4"
    encode_mp4(np.zeros((2, 16, 1000, 3), np.uint8), 8, path)
    request = GenerationRequest(mode="upscale", video_path=str(path), scale=4)
    with pytest.raises(GenerationError, match="would exceed 3840px") as err:
        EnhanceEngine(upscaler="lanczos").generate(request, NullProgress())
    assert err.value.field == "scale"


def test_engine_refuses_what_would_not_fit_in_memory_before_decoding(clip, monkeypatch):
    from generation import memory, video

    monkeypatch.setattr(memory, "available_ram", lambda: 50_000)
    decoded = []
    monkeypatch.setattr(video, "read_video", lambda *a, **k: decoded.append(a))
    for request in (
        GenerationRequest(mode="upscale", video_path=clip, scale=4),
        GenerationRequest(mode="enhance", video_path=clip, width=96, height=64, fps=24),
    ):
        with pytest.raises(GenerationError, match="needs about .* of memory") as err:
            EnhanceEngine(upscaler="lanczos").generate(request, NullProgress())
        assert err.value.code == "out_of_memory" and decoded == []


# -- enhance to target ----------------------------------------------------------------------


CAPS = EnhanceEngine().capabilities


def test_plan_target_picks_factors_and_keeps_the_shape():
    plan = plan_target(320, 180, 8, target_fps=24, target_long_side=1280, capabilities=CAPS)
    assert (plan.interpolation, plan.upscale, plan.width, plan.height) == (3, 4, 1280, 720)
    plan = plan_target(480, 270, 29.97, target_fps=60, target_long_side=1280, capabilities=CAPS)
    assert (plan.interpolation, plan.upscale, plan.width, plan.height) == (2, 3, 1280, 720)
    assert plan.fps == pytest.approx(59.94)
    plan = plan_target(320, 180, 8, target_fps=None, target_long_side=640, capabilities=CAPS)
    assert (plan.interpolation, plan.upscale, plan.fps) == (1, 2, 8)
    plan = plan_target(320, 180, 8, target_fps=16, target_long_side=None, capabilities=CAPS)
    assert (plan.interpolation, plan.upscale, plan.width) == (2, 1, 320)


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"target_fps": 20}, "target_fps", "From 8 fps, interpolation reaches 16, 24 or 32 fps"),
        ({"target_fps": 4}, "target_fps", "4 is not one of them"),
        ({"target_long_side": 1300}, "target_size", "it can be 320–1280 px"),
        ({"target_long_side": 200}, "target_size", "it can be 320–1280 px"),
        ({"target_fps": 8, "target_long_side": 320}, "target_fps", "already there"),
    ],
)
def test_plan_target_says_which_targets_work(kwargs, field, message):
    kwargs = {"target_fps": None, "target_long_side": None, **kwargs}
    with pytest.raises(GenerationError) as err:
        plan_target(320, 180, 8, capabilities=CAPS, **kwargs)
    assert err.value.field == field and message in err.value.message, err.value.message


def test_plan_target_respects_the_engine_limits():
    with pytest.raises(GenerationError, match="it can be 1280–3840 px"):
        plan_target(1280, 720, 8, target_fps=None, target_long_side=4000, capabilities=CAPS)
    with pytest.raises(GenerationError, match="reaches 80 or 120 fps"):
        plan_target(64, 64, 40, target_fps=100, target_long_side=None, capabilities=CAPS)


def test_enhance_interpolates_then_upscales_with_one_progress_bar(clip):
    from tests.generation.test_rife import WEIGHTS

    assert WEIGHTS.is_file(), f"RIFE weights missing at {WEIGHTS}: run scripts/bootstrap.sh"
    engine = EnhanceEngine(rife_weights=str(WEIGHTS))
    request = GenerationRequest(mode="enhance", video_path=clip, width=144, height=96, fps=24)
    progress = NullProgress()
    result = engine.generate(request, progress)
    assert (result.num_frames, result.width, result.height) == ((5 - 1) * 2 + 1, 144, 96)
    assert result.fps == pytest.approx(24)
    assert result.notes[0] == "Enhanced to 144×96 at 24 fps."
    assert "Interpolated ×2" in result.notes[1] and "Real-ESRGAN" in result.notes[2]
    assert result.info["model"] == "realesr-animevideov3-x3"
    # 4 pairs to interpolate, then 9 frames of one tile each, on one bar.
    assert progress.steps == [(i, 13) for i in range(1, 14)]


def test_enhance_cancel_lands_in_the_upscale_stage(clip):
    request = GenerationRequest(mode="enhance", video_path=clip, width=96, height=64, fps=24)
    progress = CancelAfter(6)
    with pytest.raises(Cancelled):
        EnhanceEngine().generate(request, progress)
    assert [d for d, _ in progress.steps] == [1, 2, 3, 4, 5, 6]


def test_enhance_refuses_a_target_of_another_shape(clip):
    request = GenerationRequest(mode="enhance", video_path=clip, width=96, height=96, fps=24)
    with pytest.raises(GenerationError, match="keeps the clip's shape") as err:
        EnhanceEngine().generate(request, NullProgress())
    assert err.value.field == "target_size"
