"""Transformer FLOPs per generated clip for the real-size Wan 2.1 and LTX-Video configs.

Why this exists: the studio has to choose between models, resolutions and denoising shortcuts
(CFG batching, guidance distillation, first-block step caching) before anyone rents a GPU. The
denoising transformer dominates the cost of a clip, so counting its FLOPs per clip gives a
hardware-independent budget to compare options with.

How: each transformer is constructed from the configuration published in its model repository
(``transformer/config.json``) on the ``meta`` device, so no weights are allocated and no real
arithmetic happens; one forward pass on meta tensors of the real latent shape is traced under
``torch.utils.flop_counter.FlopCounterMode``, which counts matmul / convolution / attention FLOPs
(2 FLOPs per multiply-add) from shapes alone. Element-wise work (norms, activations, RoPE, AdaLN
modulation) is not counted: it is memory-bound and well under 1% of the matmul FLOPs here.
An independent closed-form count from the config is printed next to the measured one as a check.

Per-clip FLOPs = per-forward FLOPs x number of forwards for each strategy. The estimated time
column divides by an assumed *effective* throughput (default 400 TFLOP/s, roughly an H100 in bf16
at good utilisation); it is informative only and excludes the text encoder and VAE.

Runs on CPU in seconds. Never run by the test suite.

Example::

    python bench/flops.py                       # all models at their default sizes
    python bench/flops.py --models wan-14b --size 1280x720x81 --skip-rates 0.4 0.6 0.8
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field

import torch
from torch.utils.flop_counter import FlopCounterMode

# ---------------------------------------------------------------------------------------------
# Real configurations. Why hard-coded: the benchmark must run offline and must not download
# multi-GB checkpoints just to read a shape. Sources:
#   Wan 2.1: huggingface/diffusers scripts/convert_wan_to_diffusers.py (get_transformer_config,
#            "Wan-T2V-1.3B" / "Wan-T2V-14B"), i.e. Wan-AI/Wan2.1-T2V-*-Diffusers transformer config.
#   LTX-Video 0.9.x 2B: Lightricks/LTX-Video transformer/config.json (_diffusers_version
#            0.32.0.dev0); identical to the LTXVideoTransformer3DModel defaults that
#            scripts/convert_ltx_to_diffusers.py instantiates.
# ---------------------------------------------------------------------------------------------
WAN_1_3B_CONFIG = {
    "added_kv_proj_dim": None,
    "attention_head_dim": 128,
    "cross_attn_norm": True,
    "eps": 1e-06,
    "ffn_dim": 8960,
    "freq_dim": 256,
    "in_channels": 16,
    "num_attention_heads": 12,
    "num_layers": 30,
    "out_channels": 16,
    "patch_size": [1, 2, 2],
    "qk_norm": "rms_norm_across_heads",
    "text_dim": 4096,
}

WAN_14B_CONFIG = {
    "added_kv_proj_dim": None,
    "attention_head_dim": 128,
    "cross_attn_norm": True,
    "eps": 1e-06,
    "ffn_dim": 13824,
    "freq_dim": 256,
    "in_channels": 16,
    "num_attention_heads": 40,
    "num_layers": 40,
    "out_channels": 16,
    "patch_size": [1, 2, 2],
    "qk_norm": "rms_norm_across_heads",
    "text_dim": 4096,
}

LTX_2B_CONFIG = {
    "activation_fn": "gelu-approximate",
    "attention_bias": True,
    "attention_head_dim": 64,
    "attention_out_bias": True,
    "caption_channels": 4096,
    "cross_attention_dim": 2048,
    "in_channels": 128,
    "norm_elementwise_affine": False,
    "norm_eps": 1e-06,
    "num_attention_heads": 32,
    "num_layers": 28,
    "out_channels": 128,
    "patch_size": 1,
    "patch_size_t": 1,
    "qk_norm": "rms_norm_across_heads",
}


@dataclass(frozen=True)
class ModelSpec:
    """What is needed to build a model and feed it a correctly shaped latent.

    The VAE factors are those of each model's own VAE (Wan: 4x temporal, 8x spatial, 16
    channels; LTX: 8x temporal, 32x spatial, 128 channels), because the transformer only ever
    sees latents and its cost is set by the latent token count.
    """

    key: str
    name: str
    family: str  # "wan" or "ltx"
    config: dict
    vae_t: int
    vae_s: int
    latent_channels: int
    text_tokens: int
    text_dim: int
    steps: int
    sizes: tuple[tuple[int, int, int], ...]  # default (width, height, frames) to report
    frame_rate: int = 16


MODELS: dict[str, ModelSpec] = {
    "wan-1.3b": ModelSpec(
        key="wan-1.3b",
        name="Wan 2.1 T2V 1.3B",
        family="wan",
        config=WAN_1_3B_CONFIG,
        vae_t=4,
        vae_s=8,
        latent_channels=16,
        text_tokens=512,
        text_dim=4096,
        steps=50,
        sizes=((832, 480, 81),),
    ),
    "wan-14b": ModelSpec(
        key="wan-14b",
        name="Wan 2.1 T2V 14B",
        family="wan",
        config=WAN_14B_CONFIG,
        vae_t=4,
        vae_s=8,
        latent_channels=16,
        text_tokens=512,
        text_dim=4096,
        steps=50,
        sizes=((832, 480, 81), (1280, 720, 81)),
    ),
    "ltx-2b": ModelSpec(
        key="ltx-2b",
        name="LTX-Video 0.9.x 2B",
        family="ltx",
        config=LTX_2B_CONFIG,
        vae_t=8,
        vae_s=32,
        latent_channels=128,
        text_tokens=128,
        text_dim=4096,
        steps=40,
        sizes=((768, 512, 121),),
        frame_rate=25,
    ),
}


def latent_shape(spec: ModelSpec, width: int, height: int, frames: int) -> tuple[int, int, int]:
    """Latent (frames, height, width) the way the pipelines compute it (causal first frame)."""
    if (frames - 1) % spec.vae_t:
        raise ValueError(f"{spec.name}: frames must be {spec.vae_t}*k+1, got {frames}")
    if width % spec.vae_s or height % spec.vae_s:
        raise ValueError(f"{spec.name}: width/height must be multiples of {spec.vae_s}")
    return (frames - 1) // spec.vae_t + 1, height // spec.vae_s, width // spec.vae_s


def build_model(spec: ModelSpec, num_layers: int | None = None) -> torch.nn.Module:
    """Construct the transformer on the current default device (meta here: no memory used).

    ``num_layers`` overrides depth; a 1-layer model is exactly what a first-block-cache hit
    executes (embeddings + block 0 + output head), so it is used to count skipped-step FLOPs.
    """
    from diffusers import LTXVideoTransformer3DModel, WanTransformer3DModel

    config = dict(spec.config)
    if num_layers is not None:
        config["num_layers"] = num_layers
    cls = WanTransformer3DModel if spec.family == "wan" else LTXVideoTransformer3DModel
    return cls(**config).eval()


def make_inputs(
    spec: ModelSpec, lat: tuple[int, int, int], batch: int, dtype: torch.dtype, device: str
) -> dict:
    """Keyword arguments for one denoising forward, shaped as the diffusers pipelines pass them."""
    t, h, w = lat
    text = torch.zeros(batch, spec.text_tokens, spec.text_dim, dtype=dtype, device=device)
    timestep = torch.full((batch,), 500, dtype=torch.long, device=device)
    if spec.family == "wan":
        x = torch.randn(batch, spec.latent_channels, t, h, w, dtype=dtype, device=device)
        return {
            "hidden_states": x,
            "timestep": timestep,
            "encoder_hidden_states": text,
            "return_dict": False,
        }
    # LTX packs latents to (B, T*H*W, C) with patch size 1 and takes the latent grid explicitly.
    x = torch.randn(batch, t * h * w, spec.latent_channels, dtype=dtype, device=device)
    return {
        "hidden_states": x,
        "encoder_hidden_states": text,
        "timestep": timestep,
        "encoder_attention_mask": torch.ones(batch, spec.text_tokens, dtype=dtype, device=device),
        "num_frames": t,
        "height": h,
        "width": w,
        "rope_interpolation_scale": (spec.vae_t / spec.frame_rate, spec.vae_s, spec.vae_s),
        "return_dict": False,
    }


def tokens(spec: ModelSpec, lat: tuple[int, int, int]) -> int:
    """Video tokens seen by attention (after the transformer's own patchify)."""
    t, h, w = lat
    if spec.family == "wan":
        pt, ph, pw = spec.config["patch_size"]
    else:
        pt, ph, pw = (
            spec.config["patch_size_t"],
            spec.config["patch_size"],
            spec.config["patch_size"],
        )
    return (t // pt) * (h // ph) * (w // pw)


@dataclass
class Count:
    """One traced forward: total FLOPs plus the attention-core part (QK^T and PV)."""

    total: int
    attention: int
    by_op: dict = field(default_factory=dict)


_ATTN_OPS = (
    "bmm",
    "scaled_dot_product",
    "flash_attention",
    "efficient_attention",
    "cudnn_attention",
)


def count_forward(spec: ModelSpec, lat, batch: int = 1, num_layers: int | None = None) -> Count:
    """Trace one forward on meta tensors and return the counted FLOPs.

    Meta tensors carry shapes only, so this costs milliseconds even for the 14B model. SDPA on
    meta decomposes to batched matmuls, which FlopCounterMode counts (4*L*S*D per attention).
    """
    with torch.device("meta"):
        model = build_model(spec, num_layers)
        # FLOPs do not depend on dtype; fp32 matches the freshly built (fp32) meta weights.
        kwargs = make_inputs(spec, lat, batch, torch.float32, "meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(**kwargs)
    by_op = {str(k): int(v) for k, v in counter.get_flop_counts()["Global"].items()}
    attn = sum(v for k, v in by_op.items() if any(a in k for a in _ATTN_OPS))
    return Count(total=int(counter.get_total_flops()), attention=attn, by_op=by_op)


def analytic_forward(spec: ModelSpec, lat) -> int:
    """Closed-form matmul FLOPs from the config, as an independent check on the traced count.

    Counts every linear/conv as 2*M*N*K and attention as 4*L*S*D (QK^T and PV). Timestep MLPs
    are included; element-wise ops are not (same convention as FlopCounterMode).
    """
    c = spec.config
    d = c["num_attention_heads"] * c["attention_head_dim"]
    n_layers = c["num_layers"]
    L = tokens(spec, lat)  # video tokens
    S = spec.text_tokens  # text tokens
    if spec.family == "wan":
        ffn = c["ffn_dim"]
        patch = math.prod(c["patch_size"])
        io = 2 * L * c["in_channels"] * patch * d + 2 * L * d * c["out_channels"] * patch
        text = 2 * S * (c["text_dim"] * d + d * d)
        time = 2 * (c["freq_dim"] * d + d * d) + 2 * d * 6 * d
        cross_kv_dim = d
    else:
        ffn = 4 * d  # diffusers FeedForward default mult=4
        io = 2 * L * c["in_channels"] * d + 2 * L * d * c["out_channels"]
        text = 2 * S * (c["caption_channels"] * d + d * d)
        time = 2 * (256 * d + d * d) + 2 * d * 6 * d  # AdaLayerNormSingle: 256-d sinusoid
        cross_kv_dim = c["cross_attention_dim"]
    block = (
        2 * L * 4 * d * d  # self-attn q, k, v, o
        + 4 * L * L * d  # self-attn QK^T + PV
        + 2 * L * 2 * d * d  # cross-attn q, o
        + 2 * S * 2 * cross_kv_dim * d  # cross-attn k, v on text tokens
        + 4 * L * S * d  # cross-attn QK^T + PV
        + 2 * L * 2 * d * ffn  # FFN up + down
    )
    return io + text + time + n_layers * block


@dataclass
class Row:
    """One line of the per-clip table."""

    model: str
    video: str
    fwd_tflops: float
    strategy: str
    forwards: str
    total_pflops: float
    est_seconds: float


def clip_rows(
    spec: ModelSpec,
    video: str,
    full: Count,
    full_b2: Count,
    first_block: Count,
    steps: int,
    skip_rates: list[float],
    warmup_frac: float,
    tflops: float,
) -> list[Row]:
    """Turn per-forward counts into per-clip totals for each denoising strategy.

    Caching model (diffusers FirstBlockCacheConfig): warm-up steps (the first ``warmup_frac`` of
    the schedule, at least 1 because the first call has nothing cached) always run in full; of the
    remaining steps a fraction ``rate`` is assumed to be a cache hit. A hit runs the embeddings,
    block 0 and the output head (= the traced 1-layer model) and adds the cached residual.
    cond/uncond keep separate cache states, so both branches are assumed to hit on the same steps.
    """
    f1, f2, fs = full.total, full_b2.total, first_block.total
    rows = []

    def add(strategy: str, forwards: str, flops: float, per_fwd: float) -> None:
        rows.append(
            Row(
                spec.name,
                video,
                per_fwd / 1e12,
                strategy,
                forwards,
                flops / 1e15,
                flops / (tflops * 1e12),
            )
        )

    add("CFG, separate cond+uncond (default)", f"2x{steps} = {2 * steps}", 2 * steps * f1, f1)
    add("CFG batched (B=2, fewer launches)", f"{steps} @ B=2", steps * f2, f2)
    add("CFG-distilled / guidance-free", f"{steps}", steps * f1, f1)
    warm = max(1, math.ceil(warmup_frac * steps))
    for rate in skip_rates:
        skipped = round(rate * (steps - warm))
        computed = steps - skipped
        flops = 2 * (computed * f1 + skipped * fs)
        add(
            f"CFG + FirstBlockCache, {rate:.0%} hits after {warm} warm-up",
            f"2x({computed} full + {skipped} 1st-block)",
            flops,
            f1,
        )
    return rows


def count_params(spec: ModelSpec) -> int:
    """Parameters of the full model on meta, to print the size next to the FLOPs as a sanity check."""
    with torch.device("meta"):
        return sum(p.numel() for p in build_model(spec).parameters())


def parse_size(text: str) -> tuple[int, int, int]:
    """Parse WIDTHxHEIGHTxFRAMES."""
    try:
        w, h, f = (int(p) for p in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHTxFRAMES, got {text!r}") from exc
    return w, h, f


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, trace every (model, size), print the markdown tables."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument(
        "--size",
        type=parse_size,
        action="append",
        help="WIDTHxHEIGHTxFRAMES, repeatable; overrides every selected model's default sizes",
    )
    parser.add_argument("--wan-steps", type=int, default=MODELS["wan-14b"].steps)
    parser.add_argument("--ltx-steps", type=int, default=MODELS["ltx-2b"].steps)
    parser.add_argument(
        "--skip-rates",
        type=float,
        nargs="*",
        default=[0.4, 0.6],
        help="assumed FirstBlockCache hit rates after warm-up",
    )
    parser.add_argument(
        "--warmup-frac",
        type=float,
        default=0.1,
        help="fraction of steps always computed before caching may hit",
    )
    parser.add_argument(
        "--tflops",
        type=float,
        default=400.0,
        help="assumed effective TFLOP/s for the time column (H100 bf16 ~400)",
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    detail = []
    rows: list[Row] = []
    for key in args.models:
        spec = MODELS[key]
        steps = args.wan_steps if spec.family == "wan" else args.ltx_steps
        for width, height, frames in args.size or spec.sizes:
            lat = latent_shape(spec, width, height, frames)
            full = count_forward(spec, lat, batch=1)
            full_b2 = count_forward(spec, lat, batch=2)
            first = count_forward(spec, lat, batch=1, num_layers=1)
            analytic = analytic_forward(spec, lat)
            video = f"{width}x{height}, {frames} f"
            n_params = count_params(spec)
            detail.append(
                f"| {spec.name} | {video} | {spec.latent_channels}x{lat[0]}x{lat[1]}x{lat[2]} "
                f"| {tokens(spec, lat):,} | {n_params / 1e9:.2f} B | {full.total / 1e12:.2f} "
                f"| {full_b2.total / full.total:.3f} | {first.total / 1e12:.2f} "
                f"| {full.attention / full.total:.0%} | {analytic / full.total:.4f} |"
            )
            rows += clip_rows(
                spec,
                video,
                full,
                full_b2,
                first,
                steps,
                args.skip_rates,
                args.warmup_frac,
                args.tflops,
            )

    print("### Per forward (batch 1)\n")
    print(
        "| Model | Video | Latent CxTxHxW | Video tokens | Params | TFLOPs/fwd "
        "| B=2 / B=1 | 1st-block fwd TFLOPs | Attention share | Analytic / traced |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(detail))
    print(f"\n### Per clip (est. time at {args.tflops:g} TFLOP/s effective, transformer only)\n")
    print("| Model | Video | TFLOPs/fwd | Strategy | Forwards | Total PFLOPs | Est. time (s) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.model} | {r.video} | {r.fwd_tflops:.1f} | {r.strategy} | {r.forwards} "
            f"| {r.total_pflops:.2f} | {r.est_seconds:.1f} |"
        )
    print(f"\n(traced on meta device in {time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
