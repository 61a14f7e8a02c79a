"""Fault bench: kill the studio's processes under `make run` while jobs flow; count the damage.

Starts scripts/run.sh (supervisord: its own Redis, STUDIO_WORKERS workers, daphne) in a
temporary var directory, keeps a few animatic jobs in flight through the /v1 API, and
does N `kill -9` of a worker while it runs a job, M `kill -9` of Redis while a job
runs and W `kill -9` of one web process (the others go on serving), in a shuffled order. A prober GETs /login/ every 0.2 s throughout. Then it waits
for every job to end and prints a markdown table: tries, jobs, completed, lost (unknown
to the API), stuck (not finished in time), failed for infrastructure reasons (the worker
or Redis: `worker_lost`, or an engine error that names Redis), other failures, and
whether the site answered throughout.

A job counts as running when its progress grew between two polls. Each worker kill
takes down a job no earlier kill hit: a job whose worker dies
STUDIO_MAX_ATTEMPTS times is failed as `worker_lost` by design (a kill -9 cannot be told
from a job that crashes its worker). `--any-job` drops that rule.

Run: `.venv/bin/python bench/faults.py [--worker-kills 20] [--redis-kills 5] [--web-kills 5]
[--port 8109]`
"""

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACTIVE = ("queued", "in_progress")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Studio:
    def __init__(self, var: Path, port: int, workers: int):
        self.var, self.port = var, port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("REDIS_URL", "DATABASE_URL", "MEDIA_ROOT", "SECRET_KEY")
        }
        self.env.update(
            HOST="127.0.0.1", PORT=str(port), STUDIO_VAR_DIR=str(var),
            STUDIO_WORKERS=str(workers), STUDIO_ENGINES="animatic", STUDIO_API_RATE_LIMIT="0",
        )  # fmt: skip
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.var.parent / "run.log").open("ab")
        self.proc = subprocess.Popen(
            [str(ROOT / "scripts/run.sh")], cwd=ROOT, env=self.env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while not self.answers():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"the studio did not start; see {self.var.parent / 'run.log'}")
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/login/", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def pids(self) -> dict[str, int]:
        out = subprocess.run(
            [str(ROOT / ".venv/bin/supervisorctl"), "-c", str(self.var / "supervisord.conf"),
             "status"],
            capture_output=True, text=True, env=self.env,
        ).stdout  # fmt: skip
        rows = [line.split() for line in out.splitlines()]
        return {r[0]: int(r[3].rstrip(",")) for r in rows if len(r) > 3 and r[1] == "RUNNING"}

    def api_key(self) -> str:
        return subprocess.run(
            [str(ROOT / ".venv/bin/python"), "manage.py", "create_api_key", "bench",
             "--create-user"],
            cwd=ROOT, env=self.env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip


class Prober(threading.Thread):
    """GET /login/ every 0.2 s; remember when it did not answer."""

    def __init__(self, studio: Studio):
        super().__init__(daemon=True)
        self.studio, self.stop = studio, threading.Event()
        self.tries = self.misses = 0
        self.longest = self._down_since = 0.0

    def run(self) -> None:
        while not self.stop.is_set():
            self.tries += 1
            now = time.monotonic()
            if self.studio.answers():
                self._down_since = 0.0
            else:
                self.misses += 1
                self._down_since = self._down_since or now
                self.longest = max(self.longest, now - self._down_since)
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker-kills", type=int, default=20)
    parser.add_argument("--redis-kills", type=int, default=5)
    parser.add_argument("--web-kills", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--size", default="1280x720", help="job size (animatic)")
    parser.add_argument("--seconds", default="2", help="job length")
    parser.add_argument("--in-flight", type=int, default=3, help="jobs kept queued/running")
    parser.add_argument("--settle", type=float, default=240.0, help="seconds to let jobs end")
    parser.add_argument("--any-job", action="store_true", help="kill whichever job runs")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()

    import openai

    warnings.filterwarnings("ignore", category=DeprecationWarning)  # the SDK's notice
    var = Path(tempfile.mkdtemp(prefix="studio-faults-")) / "var"
    studio = Studio(var, args.port or free_port(), args.workers)
    print(f"studio in {var.parent} at {studio.url}", file=sys.stderr)
    studio.start()
    client = openai.OpenAI(base_url=f"{studio.url}/v1", api_key=studio.api_key(), max_retries=3)
    prober = Prober(studio)
    prober.start()

    jobs: list[str] = []
    status: dict[str, str] = {}
    submit_errors = 0
    killed_jobs: set[str] = set()
    kills = {"worker": 0, "redis": 0, "web": 0}
    mid_job = {"worker": 0, "redis": 0, "web": 0}
    plan = ["worker"] * args.worker_kills + ["redis"] * args.redis_kills
    plan += ["web"] * args.web_kills
    random.Random(args.seed).shuffle(plan)

    progress: dict[str, int] = {}
    advanced: set[str] = set()  # jobs whose progress grew at the last poll: a worker runs them

    def refresh(ids) -> None:
        advanced.clear()
        for vid in ids:
            try:
                video = client.videos.retrieve(vid)
                status[vid] = video.status
                if video.status == "in_progress" and video.progress > progress.get(vid, 0):
                    advanced.add(vid)
                progress[vid] = video.progress or 0
            except openai.NotFoundError:
                status[vid] = "lost"
            except openai.APIError:
                pass  # the web server restarting: ask again later

    def top_up() -> None:
        nonlocal submit_errors
        active = [v for v in jobs if status.get(v, "queued") in ACTIVE]
        for _ in range(args.in_flight - len(active)):
            try:
                video = client.videos.create(
                    prompt="a kite over the dunes", model="animatic",
                    seconds=args.seconds, size=args.size,
                )  # fmt: skip
                jobs.append(video.id)
                status[video.id] = video.status
            except openai.APIError:
                submit_errors += 1

    started = time.monotonic()
    try:
        for target in plan:
            deadline = time.monotonic() + 120
            victim = None
            while time.monotonic() < deadline:
                top_up()
                refresh([v for v in jobs if status.get(v) in ACTIVE])
                # Running for real: its progress grew since the last poll (a killed run's
                # row says in_progress until reconcile retries it).
                running = [v for v in jobs if v in advanced]
                fresh = running if args.any_job or target == "redis" else [
                    v for v in running if v not in killed_jobs
                ]  # fmt: skip
                if fresh:
                    victim = fresh[0]
                    break
                time.sleep(0.3)
            # A process supervisord is (re)starting is not RUNNING yet: wait for it.
            wanted = {"worker": "worker:", "redis": "redis", "web": "web:"}[target]
            ready = time.monotonic() + 30
            pids = studio.pids()
            while not any(n.startswith(wanted) for n in pids) and time.monotonic() < ready:
                time.sleep(0.2)
                pids = studio.pids()
            names = [n for n in pids if n.startswith(wanted)]
            if not names:
                print(f"no {target} process to kill: {pids}", file=sys.stderr)
                continue
            name = random.choice(names)
            os.kill(pids[name], signal.SIGKILL)
            kills[target] += 1
            if victim:
                mid_job[target] += 1
                if target == "worker":
                    killed_jobs.add(victim)
                progress[victim] = 0  # the retry starts again from 0
            # Wait for supervisord to bring it back before the next kill.
            back = time.monotonic() + 60
            while time.monotonic() < back:
                now = studio.pids()
                if name in now and now[name] != pids[name]:
                    break
                time.sleep(0.2)
            time.sleep(1.0)
        # Let everything finish.
        end = time.monotonic() + args.settle
        while time.monotonic() < end:
            refresh([v for v in jobs if status.get(v, "queued") in ACTIVE])
            if not any(status.get(v) in ACTIVE for v in jobs):
                break
            time.sleep(1.0)
        failures: dict[str, int] = {}
        infra = other = 0
        for vid in jobs:
            if status.get(vid) != "failed":
                continue
            video = client.videos.retrieve(vid)
            code = video.error.code if video.error else "?"
            message = video.error.message if video.error else ""
            failures[code] = failures.get(code, 0) + 1
            if code == "worker_lost" or "Redis" in message or "ConnectionError" in message:
                infra += 1
            else:
                other += 1
    finally:
        prober.stop.set()
        prober.join()
        studio.stop()

    elapsed = time.monotonic() - started
    done = sum(status.get(v) == "completed" for v in jobs)
    lost = sum(status.get(v) == "lost" for v in jobs)
    stuck = sum(status.get(v) in ACTIVE for v in jobs)
    print(f"\n{elapsed:.0f} s, {args.workers} worker(s), jobs {args.size} × {args.seconds} s\n")
    print("| fault | tries | of them mid-job |")
    print("|---|---|---|")
    print(f"| worker kill -9 | {kills['worker']} | {mid_job['worker']} |")
    print(f"| Redis kill -9 | {kills['redis']} | {mid_job['redis']} |")
    print(f"| web process kill -9 | {kills['web']} | {mid_job['web']} |")
    print()
    print("| jobs | completed | lost | stuck | failed: infrastructure | failed: other "
          "| submit errors | site probes missed (longest outage) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {len(jobs)} | {done} | {lost} | {stuck} | {infra} | {other} | {submit_errors} "
        f"| {prober.misses}/{prober.tries} ({prober.longest:.1f} s) |"
    )
    if failures:
        print(f"\nfailure codes: {failures}")


if __name__ == "__main__":
    main()
