"""Time real-size, random-weight Wan 2.1 / LTX-Video transformers on CUDA.

Why this exists: bench/flops.py gives hardware-independent FLOPs per clip; this script measures
what a given GPU actually delivers on the same shapes, so per-clip wall time and the effect of an
attention backend, FirstBlockCache or torch.compile can be judged before buying or renting GPUs.
It builds the transformer from the real published config with *random* weights directly on the
GPU in bf16 (nothing is downloaded; weights do not change the speed of dense matmuls), then times
denoising forward calls with ``torch.cuda.synchronize()`` around them.

What it reports:
  * seconds per transformer forward at the chosen latent shape and the counted TFLOPs of that
    forward (from bench/flops.py, meta-device trace), hence achieved TFLOP/s;
  * seconds per denoising step for the CFG mode (separate cond+uncond = 2 forwards, batched =
    one batch-2 forward, none = 1 forward), and projected seconds per clip (transformer only:
    no text encoder, no VAE decode);
  * with ``--first-block-cache``: the time of a cache-hit step as well, measured by repeating an
    identical input (random inputs make every call a miss, identical ones make every call after
    the first a hit), and projected s/clip at assumed hit rates (``--skip-rates``).

Without a CUDA device it prints a message and exits with status 0, so it is safe to call anywhere.
``--device cpu`` with ``--layers 1`` and a tiny ``--size`` is only a smoke test of the code path.

Examples::

    python bench/gpu_generate.py --model wan-1.3b
    python bench/gpu_generate.py --model wan-14b --size 1280x720x81 --cfg batched --compile regional
    python bench/gpu_generate.py --model ltx-2b --attention-backend flash --first-block-cache 0.05
"""

from __future__ import annotations

import argparse
import math
import sys
import time

try:  # run as a script (python bench/gpu_generate.py): bench/ is on sys.path
    from flops import MODELS, count_forward, latent_shape, make_inputs, parse_size
except ImportError:  # run as a module from the repository root (python -m bench.gpu_generate)
    from bench.flops import MODELS, count_forward, latent_shape, make_inputs, parse_size

import torch

CFG_FORWARDS = {"separate": 2, "batched": 1, "none": 1}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line; defaults reproduce each model's default pipeline call."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=list(MODELS), default="wan-1.3b")
    parser.add_argument(
        "--size", type=parse_size, help="WIDTHxHEIGHTxFRAMES (default: the model's default size)"
    )
    parser.add_argument("--steps", type=int, help="denoising steps for the projection")
    parser.add_argument(
        "--cfg",
        choices=list(CFG_FORWARDS),
        default="separate",
        help="separate: cond+uncond forwards; batched: one B=2 forward; none: distilled",
    )
    parser.add_argument("--iters", type=int, default=5, help="timed forward calls")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls first (and compile)")
    parser.add_argument("--dtype", choices=["bf16", "fp16"], default="bf16")
    parser.add_argument(
        "--attention-backend",
        help="diffusers attention backend, e.g. native, flash, _native_cudnn, sage",
    )
    parser.add_argument(
        "--first-block-cache",
        type=float,
        metavar="THRESHOLD",
        help="enable diffusers FirstBlockCacheConfig(threshold) and time cache-hit steps too",
    )
    parser.add_argument("--skip-rates", type=float, nargs="*", default=[0.4, 0.6])
    parser.add_argument("--warmup-frac", type=float, default=0.1)
    parser.add_argument(
        "--compile",
        choices=["none", "full", "regional"],
        default="none",
        help="torch.compile the whole model or only its repeated blocks",
    )
    parser.add_argument("--layers", type=int, help="override depth (smoke tests only)")
    parser.add_argument("--device", default="cuda", help="cuda (default); cpu only to smoke-test")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def build_random(spec, layers: int | None, dtype: torch.dtype, device: str) -> torch.nn.Module:
    """Real-config transformer with random weights allocated directly on ``device`` in ``dtype``.

    Constructing under a bf16 default dtype avoids ever materialising fp32 weights (56 GB for
    14B). The modules diffusers keeps in fp32 when loading with ``torch_dtype`` are cast back to
    fp32 so the numerics path matches a real ``from_pretrained`` load.
    """
    from diffusers import LTXVideoTransformer3DModel, WanTransformer3DModel

    config = dict(spec.config)
    if layers is not None:
        config["num_layers"] = layers
    cls = WanTransformer3DModel if spec.family == "wan" else LTXVideoTransformer3DModel
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = cls(**config)
    finally:
        torch.set_default_dtype(previous)
    keep = getattr(cls, "_keep_in_fp32_modules", None) or []
    for name, param in model.named_parameters():
        if any(k in name.split(".") for k in keep):
            param.data = param.data.float()
    return model.eval().requires_grad_(False)


def sync(device: str) -> None:
    """Wait for queued kernels so wall-clock time covers the work, not just the launches."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(model, make_kwargs, n: int, device: str, cached: bool) -> float:
    """Mean seconds per forward over ``n`` calls; ``make_kwargs()`` supplies each call's inputs."""
    calls = [make_kwargs() for _ in range(n)]
    sync(device)
    start = time.perf_counter()
    for kwargs in calls:
        if cached:
            with model.cache_context("cond"):
                model(**kwargs)
        else:
            model(**kwargs)
    sync(device)
    return (time.perf_counter() - start) / max(n, 1)


def main(argv: list[str] | None = None) -> int:
    """Build, optionally accelerate, time and report; exit 0 without CUDA."""
    args = parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(
            "gpu_generate: no CUDA device available - nothing to time. "
            "Run this on a GPU machine (see --help); bench/flops.py gives the FLOPs on CPU."
        )
        return 0

    spec = MODELS[args.model]
    width, height, frames = args.size or spec.sizes[0]
    steps = args.steps or spec.steps
    lat = latent_shape(spec, width, height, frames)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float16
    batch = 2 if args.cfg == "batched" else 1
    torch.manual_seed(args.seed)

    t0 = time.perf_counter()
    model = build_random(spec, args.layers, dtype, args.device)
    n_params = sum(p.numel() for p in model.parameters())
    elapsed = time.perf_counter() - t0
    print(
        f"built {spec.name}: {n_params / 1e9:.2f} B random params on {args.device}, {elapsed:.1f} s"
    )

    if args.attention_backend:
        model.set_attention_backend(args.attention_backend)
    cached = args.first_block_cache is not None
    if cached:
        from diffusers.hooks import FirstBlockCacheConfig

        model.enable_cache(FirstBlockCacheConfig(threshold=args.first_block_cache))
    if args.compile == "full":
        model = torch.compile(model)
    elif args.compile == "regional":
        model.compile_repeated_blocks(fullgraph=True)

    def fresh():
        """New random latent each call: block-0 residuals differ, so FirstBlockCache misses."""
        return make_inputs(spec, lat, batch, dtype, args.device)

    fixed = fresh()

    def same():
        """Identical latent each call: after one miss, every FirstBlockCache check is a hit."""
        return fixed

    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode():
        t0 = time.perf_counter()
        timed(model, fresh, args.warmup, args.device, cached)
        print(f"warm-up ({args.warmup} calls, incl. any compile): {time.perf_counter() - t0:.1f} s")
        full = timed(model, fresh, args.iters, args.device, cached)
        hit = None
        if cached:
            timed(model, same, 1, args.device, cached)  # prime the cache with this input
            hit = timed(model, same, args.iters, args.device, cached)

    flops_fwd = count_forward(spec, lat, batch=batch, num_layers=args.layers).total
    per_step = full * CFG_FORWARDS[args.cfg]
    t, h, w = lat
    print(f"\n{spec.name} | {width}x{height}x{frames} -> latent {t}x{h}x{w} | batch {batch}")
    print(f"attention backend: {args.attention_backend or 'default'} | compile: {args.compile}")
    achieved = flops_fwd / full / 1e12
    print(f"forward: {full:.3f} s, {flops_fwd / 1e12:.1f} TFLOP -> {achieved:.1f} TFLOP/s")
    print(f"step (cfg={args.cfg}): {per_step:.3f} s")
    print(f"projected clip ({steps} steps, transformer only): {per_step * steps:.1f} s")
    if hit is not None:
        hit_step = hit * CFG_FORWARDS[args.cfg]
        warm = max(1, math.ceil(args.warmup_frac * steps))
        print(f"FirstBlockCache hit forward: {hit:.3f} s ({hit / full:.1%} of a full forward)")
        for rate in args.skip_rates:
            skipped = round(rate * (steps - warm))
            clip = (steps - skipped) * per_step + skipped * hit_step
            print(f"  {rate:.0%} hits after {warm} warm-up steps: projected clip {clip:.1f} s")
    if args.device.startswith("cuda"):
        print(f"peak memory: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
