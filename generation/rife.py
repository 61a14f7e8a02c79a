"""RIFE frame interpolation: a Practical-RIFE 4.x IFNet written as plain torch functions.

The checkpoint (`flownet.pkl`, 6.1 M parameters, MIT, fetched by `scripts/bootstrap.sh`)
holds an `encode` head that turns each frame into 4 feature planes at full resolution and
five IFBlocks (`block0`–`block4`) that estimate the two flows from the in-between frame to
its neighbours and a blend mask, coarse to fine, at 1/16, 1/8, 1/4, 1/2 and full scale.
Each block sees the timestep as an input plane, so any t in (0, 1) works, which ×3 and ×4
need. The `teacher.*` and `caltime.*` weights serve training only and are not loaded.

The forward pass is functional (`torch.nn.functional` over the state dict) rather than
`nn.Module` classes, so torch is imported only when a model is loaded, as in the engines.
A model is loaded once per process and weights file; at 25 MB it stays outside the
pipeline cache's budget.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

PAD = 64
"""Flows are estimated on frames resized to sides that are multiples of this: the 1/16
block halves its input twice more.

Resizing to the nearest multiple, then scaling the flows back and warping the original
frames, beat padding on five 1-s spots of Big Buck Bunny (854×480, ×2): by 0.3 dB on
average (up to 0.7) over zero padding and 0.4 dB (up to 1.1) over edge replication, which
also lost 2.8 dB on a 256×200 pan (zero padding won there by 0.25 dB). A padded border does
not move with the picture and misleads the coarse blocks. Resizing *up* to the next
multiple is worse: a 200 → 256 stretch cost 10 dB on that pan."""

MAX_FLOW_PIXELS = 1920 * 1088
"""Larger frames have their flows estimated at this many pixels (as Practical-RIFE's
`--scale 0.5` does for 4K): the network's motion range is counted in pixels, and memory
grows with the area times the number of in-between frames made at once."""

SCALES = (16, 8, 4, 2, 1)
BLOCKS = tuple(f"block{i}" for i in range(len(SCALES)))


class RifeUnavailable(Exception):
    """The weights are missing or unreadable; the message says where they were looked for."""


def pick_device(device: str = "auto") -> str:
    """CUDA when present (or asked for), else the CPU."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class Rife:
    """A loaded IFNet on one device; call it with two frames and the times to make."""

    def __init__(self, weights: dict[str, Any], device: str, path: Path):
        self.weights = weights
        self.device = device
        self.path = path
        self.blocks = {
            b: {k[len(b) + 1 :]: v for k, v in weights.items() if k.startswith(b + ".")}
            for b in BLOCKS
        }
        self.resconvs = sum(1 for k in self.blocks[BLOCKS[0]] if k.endswith(".beta"))
        self._grids: dict[tuple[int, int, str], Any] = {}

    def __call__(self, f0: np.ndarray, f1: np.ndarray, times: Sequence[float]) -> np.ndarray:
        """In-between frames of (H, W, 3) uint8 `f0` and `f1` at `times`: (len(times), H, W, 3)."""
        return self.with_warps(f0, f1, times)[0]

    def with_warps(
        self, f0: np.ndarray, f1: np.ndarray, times: Sequence[float]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The in-between frames, and both neighbours warped by RIFE's flows to each time.

        Returns (frames, warped0, warped1), each (len(times), H, W, 3) uint8. The frames blend
        the two warps by RIFE's mask; where the warps disagree, RIFE is unsure.
        """
        import torch
        import torch.nn.functional as F  # noqa: N812

        h, w = f0.shape[:2]
        with torch.inference_mode():
            pair = torch.from_numpy(np.stack([f0, f1])).to(self.device)
            pair = pair.permute(0, 3, 1, 2).float() / 255.0
            n = len(times)
            t = torch.tensor(list(times), dtype=torch.float32, device=self.device).view(n, 1, 1, 1)
            fit = min(1.0, (MAX_FLOW_PIXELS / (h * w)) ** 0.5)
            hh, ww = (max(PAD, round(side * fit / PAD) * PAD) for side in (h, w))
            sized = pair
            if (hh, ww) != (h, w):
                sized = F.interpolate(
                    pair, size=(hh, ww), mode="bilinear", align_corners=False, antialias=True
                )
            flow, mask = self._forward(sized[:1], sized[1:], t)
            if (hh, ww) != (h, w):
                flow = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)
                mask = F.interpolate(mask, size=(h, w), mode="bilinear", align_corners=False)
                ratio = torch.tensor([w / ww, h / hh] * 2, device=self.device)
                flow = flow * ratio.view(1, 4, 1, 1)
            img0, img1 = pair[:1].expand(n, -1, -1, -1), pair[1:].expand(n, -1, -1, -1)
            m = torch.sigmoid(mask)
            warped0 = self._warp(img0, flow[:, :2])
            warped1 = self._warp(img1, flow[:, 2:4])
            out = warped0 * m + warped1 * (1 - m)

            def to_numpy(x: Any) -> np.ndarray:
                x = torch.round(x.clamp(0, 1) * 255.0).to(torch.uint8)
                return np.ascontiguousarray(x.permute(0, 2, 3, 1).cpu().numpy())

            return to_numpy(out), to_numpy(warped0), to_numpy(warped1)

    def _forward(self, img0: Any, img1: Any, t: Any) -> Any:
        import torch

        n = t.shape[0]
        _, _, h, w = img0.shape
        feat0 = self._encode(img0).expand(n, -1, -1, -1)
        feat1 = self._encode(img1).expand(n, -1, -1, -1)
        img0, img1 = img0.expand(n, -1, -1, -1), img1.expand(n, -1, -1, -1)
        tplane = t.expand(n, 1, h, w)
        warped0, warped1 = img0, img1
        flow: Any = None
        mask: Any = None
        feat: Any = None
        for name, scale in zip(BLOCKS, SCALES, strict=True):
            if flow is None:
                x = torch.cat((img0, img1, feat0, feat1, tplane), 1)
                flow, mask, feat = self._block(name, x, None, scale)
            else:
                x = torch.cat(
                    (
                        warped0,
                        warped1,
                        self._warp(feat0, flow[:, :2]),
                        self._warp(feat1, flow[:, 2:4]),
                        tplane,
                        mask,
                        feat,
                    ),
                    1,
                )
                delta, mask, feat = self._block(name, x, flow, scale)
                flow = flow + delta
            if name != BLOCKS[-1]:
                warped0 = self._warp(img0, flow[:, :2])
                warped1 = self._warp(img1, flow[:, 2:4])
        return flow, mask

    def _encode(self, img: Any) -> Any:
        import torch.nn.functional as F  # noqa: N812

        p = self.weights
        x = F.leaky_relu(F.conv2d(img, p["encode.cnn0.weight"], p["encode.cnn0.bias"], 2, 1), 0.2)
        x = F.leaky_relu(F.conv2d(x, p["encode.cnn1.weight"], p["encode.cnn1.bias"], 1, 1), 0.2)
        x = F.leaky_relu(F.conv2d(x, p["encode.cnn2.weight"], p["encode.cnn2.bias"], 1, 1), 0.2)
        return F.conv_transpose2d(x, p["encode.cnn3.weight"], p["encode.cnn3.bias"], 2, 1)

    def _block(self, name: str, x: Any, flow: Any, scale: int) -> tuple[Any, Any, Any]:
        """One IFBlock: estimate (a refinement of) the flows, the mask logit and features."""
        import torch
        import torch.nn.functional as F  # noqa: N812

        p = self.blocks[name]
        if scale != 1:
            x = F.interpolate(x, scale_factor=1 / scale, mode="bilinear", align_corners=False)
        if flow is not None:
            if scale != 1:
                flow = F.interpolate(
                    flow, scale_factor=1 / scale, mode="bilinear", align_corners=False
                )
            x = torch.cat((x, flow / scale), 1)
        x = F.leaky_relu(F.conv2d(x, p["conv0.0.0.weight"], p["conv0.0.0.bias"], 2, 1), 0.2)
        x = F.leaky_relu(F.conv2d(x, p["conv0.1.0.weight"], p["conv0.1.0.bias"], 2, 1), 0.2)
        for i in range(self.resconvs):
            r = f"convblock.{i}."
            y = F.conv2d(x, p[r + "conv.weight"], p[r + "conv.bias"], 1, 1)
            x = F.leaky_relu(y * p[r + "beta"] + x, 0.2)
        x = F.conv_transpose2d(x, p["lastconv.0.weight"], p["lastconv.0.bias"], 2, 1)
        x = F.pixel_shuffle(x, 2)
        if scale != 1:
            x = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
        return x[:, :4] * scale, x[:, 4:5], x[:, 5:]

    def _warp(self, img: Any, flow: Any) -> Any:
        """Sample `img` at x + flow(x) (bilinear, edges replicated)."""
        import torch
        import torch.nn.functional as F  # noqa: N812

        n, _, h, w = flow.shape
        key = (h, w, str(flow.device))
        grid = self._grids.get(key)
        if grid is None:
            if len(self._grids) > 32:  # a worker sees many clip sizes: keep the last few
                self._grids.clear()
            ys = torch.linspace(-1.0, 1.0, h, device=flow.device)
            xs = torch.linspace(-1.0, 1.0, w, device=flow.device)
            gy, gx = torch.meshgrid(ys, xs, indexing="ij")
            grid = torch.stack((gx, gy), -1)[None]
            self._grids[key] = grid
        norm = torch.tensor([2.0 / (w - 1), 2.0 / (h - 1)], device=flow.device)
        g = grid + flow.permute(0, 2, 3, 1) * norm
        return F.grid_sample(img, g, mode="bilinear", padding_mode="border", align_corners=True)


_models: dict[tuple[str, str], Rife] = {}
_models_lock = threading.Lock()


def load(path: str | Path, device: str = "auto") -> Rife:
    """The IFNet from `path` on `device` ("auto": CUDA when present), loaded once per process.

    Raise `RifeUnavailable` when the file is missing or is not an IFNet checkpoint.
    """
    path = Path(path).expanduser()
    device = pick_device(device)
    key = (str(path.resolve()), device)
    with _models_lock:
        model = _models.get(key)
        if model is not None:
            return model
        if not path.is_file():
            raise RifeUnavailable(f"RIFE weights not found at {path}")
        import torch

        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated or foreign file: say which, don't crash the job
            raise RifeUnavailable(f"RIFE weights at {path} could not be read ({exc})") from exc
        weights = {
            k.removeprefix("module."): v.to(device).float()
            for k, v in state.items()
            if k.removeprefix("module.").split(".")[0] in (*BLOCKS, "encode")
        }
        expected = ("encode.cnn0.weight", *(f"{b}.lastconv.0.weight" for b in BLOCKS))
        missing = [k for k in expected if k not in weights]
        if missing:
            raise RifeUnavailable(
                f"{path} is not a RIFE 4.x IFNet checkpoint (missing {', '.join(missing)})"
            )
        model = Rife(weights, device, path)
        _models[key] = model
        return model
