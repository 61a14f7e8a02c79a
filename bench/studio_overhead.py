"""Time one tiny-Wan generation from submit to clip against the bare pipeline call.

The difference is the studio's overhead: validation, the database row, the RQ queue on a real
Redis, the claim, progress pushes through the channel layer, MP4 encoding, poster and the
clip row. Run: `.venv/bin/python bench/studio_overhead.py [--size 64] [--frames 9] [--steps 3]`.
It starts its own Redis on a temporary socket and uses a temporary SQLite database.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--frames", type=int, default=9)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    redis = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(tmp / "r.sock"), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            if (tmp / "r.sock").exists():
                break
            time.sleep(0.1)
        from tests.tiny.wan import build_tiny_wan

        model = build_tiny_wan(tmp / "tiny-wan")
        os.environ.update(
            REDIS_URL=f"unix://{tmp / 'r.sock'}?db=0",
            STUDIO_VAR_DIR=str(tmp / "var"),
            STUDIO_WAN_MODEL=str(model),
            DJANGO_SETTINGS_MODULE="studio.settings",
            HF_HUB_OFFLINE="1",
        )
        (tmp / "var").mkdir()
        run(args, model)
    finally:
        redis.terminate()


def run(args, model: Path) -> None:
    import django

    django.setup()
    import django_rq
    import torch
    from diffusers import WanPipeline
    from django.core.management import call_command

    from generation.spec import GenerationRequest
    from studio.jobs.models import Generation
    from studio.jobs.services import generation_submit
    from studio.jobs.worker import StudioWorker
    from studio.projects.services import project_create
    from studio.teams.services import user_signup

    call_command("migrate", verbosity=0)
    user = user_signup(username="bench", password="bench-pass-123")
    project = project_create(team=user.memberships.get().team, name="Bench", user=user)
    request = GenerationRequest(
        prompt="a lighthouse at dusk",
        width=args.size,
        height=args.size,
        num_frames=args.frames,
        fps=16,
        seed=1,
        steps=args.steps,
    )
    queue = django_rq.get_queue("default")
    worker = StudioWorker([queue], connection=queue.connection)

    def studio_once() -> float:
        start = time.perf_counter()
        g = generation_submit(project=project, user=user, engine_id="wan", request=request)
        worker.work(burst=True, with_scheduler=False)
        elapsed = time.perf_counter() - start
        g.refresh_from_db()
        assert g.status == "succeeded", g.error
        return elapsed

    pipe = WanPipeline.from_pretrained(str(model), local_files_only=True)

    def bare_once() -> float:
        start = time.perf_counter()
        pipe(
            prompt=request.prompt,
            height=args.size,
            width=args.size,
            num_frames=args.frames,
            num_inference_steps=args.steps,
            guidance_scale=5.0,
            output_type="np",
            generator=torch.Generator().manual_seed(1),
        )
        return time.perf_counter() - start

    studio_once()  # warm: the worker loads the pipeline once and keeps it
    bare_once()
    studio = [studio_once() for _ in range(args.repeat)]
    bare = [bare_once() for _ in range(args.repeat)]
    print(
        f"tiny Wan {args.size}x{args.size}, {args.frames} frames, {args.steps} steps, "
        f"median of {args.repeat} (warm):"
    )
    print("| path | median s | min s |\n|---|---|---|")
    print(f"| bare WanPipeline call | {statistics.median(bare):.3f} | {min(bare):.3f} |")
    print(f"| studio submit -> clip | {statistics.median(studio):.3f} | {min(studio):.3f} |")
    print(f"| overhead | {statistics.median(studio) - statistics.median(bare):.3f} | |")
    print(f"generations: {Generation.objects.count()}")


if __name__ == "__main__":
    main()
