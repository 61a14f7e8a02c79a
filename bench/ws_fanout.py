"""Live progress fan-out: N websocket watchers of one project under daphne + Redis.

Run: `.venv/bin/python bench/ws_fanout.py [--watchers 1,50,200] [--steps 60] [--port 8151]
[--code DIR]`. It starts its own Redis (unix socket) and daphne (`studio.asgi`), a
temporary SQLite database with one user, project and running generation, opens N
websockets as that user (a minimal client: the handshake and unmasked server frames), then
runs a worker-side sender in its own process: `JobProgress(generation).step(done, total,
preview=frame)` every 0.1 s with a fresh 512×288 frame, as an engine does; JobProgress
throttles to STUDIO_PROGRESS_INTERVAL. Each push is told apart by its `<progress value>`; the sender records when it
handed the rendered push to the channel layer, each watcher when the frame arrived. Prints a markdown
row per N: latency p50/p95/max, pushes lost, bytes per push per client, and daphne's CPU
seconds per delivered message. `--code` runs the same measurement against another checkout
(e.g. `git archive main` unpacked) to compare before and after.
"""

import argparse
import asyncio
import base64
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
STEP = re.compile(rb'<progress[^>]*value="(\d+)"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--watchers", default="1,50,200")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--port", type=int, default=8151)
    parser.add_argument(
        "--code", type=Path, default=HERE, help="Checkout to run (default: this one)."
    )
    parser.add_argument("--interval", help="STUDIO_PROGRESS_INTERVAL (default: the checkout's).")
    parser.add_argument("--sender", help=argparse.SUPPRESS)  # internal: generation id to push
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    if args.sender:
        return send(args.sender, args.steps)
    tmp = Path(tempfile.mkdtemp(prefix="studio-fanout-"))
    (tmp / "var").mkdir()
    env = dict(
        os.environ,
        REDIS_URL=f"unix://{tmp / 'r.sock'}?db=0",
        STUDIO_VAR_DIR=str(tmp / "var"),
        DJANGO_SETTINGS_MODULE="studio.settings",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(args.code.resolve()),
    )
    if args.interval:
        env["STUDIO_PROGRESS_INTERVAL"] = args.interval
    os.environ.update(env)
    procs = [
        subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", str(tmp / "r.sock"), "--save", ""],
            stdout=subprocess.DEVNULL,
        )
    ]
    try:
        _wait(lambda: (tmp / "r.sock").exists())
        generation_id, cookie, project_id = setup()
        daphne = subprocess.Popen(
            [str(HERE / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(args.port),
             "studio.asgi:application"],
            cwd=args.code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        procs.append(daphne)
        _wait(lambda: _port_open(args.port))
        print(
            "| watchers | p50 ms | p95 ms | max ms | lost | bytes/push/client | daphne CPU ms/msg |"
        )
        print("|---|---|---|---|---|---|---|")
        for n in [int(w) for w in args.watchers.split(",")]:
            row = asyncio.run(
                measure(
                    n, args, env, generation_id, cookie, f"/ws/projects/{project_id}/", daphne.pid
                )
            )
            print(row, flush=True)
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait()


def _wait(ready, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit("Timed out starting a service.")
        time.sleep(0.1)


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def setup() -> tuple[str, str, int]:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from studio.jobs.models import Generation
    from studio.projects.services import project_create
    from studio.teams.services import user_signup

    call_command("migrate", verbosity=0)
    user = user_signup(username="watcher", password="bench-pass-123")
    project = project_create(team=user.memberships.get().team, name="Fan-out", user=user)
    generation = Generation.objects.create(
        project=project, requested_by=user, engine="animatic", mode="text_to_video",
        recipe={"prompt": "a lighthouse at dusk", "width": 512, "height": 288,
                "num_frames": 60, "fps": 16}, status=Generation.Status.RUNNING,
    )  # fmt: skip
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return str(generation.pk), f"{settings.SESSION_COOKIE_NAME}={session}", project.pk


def send(generation_id: str, steps: int) -> None:
    """The worker side: push `steps` progress updates as an engine's callback would."""
    import django

    django.setup()
    import numpy as np
    from django.utils import timezone

    from studio.jobs import live
    from studio.jobs.models import Generation
    from studio.jobs.progress import JobProgress

    def timed_send(generation, html: str) -> None:
        """Note when each push leaves the worker: after rendering, as group_send starts."""
        if m := STEP.search(html.encode()):
            print(json.dumps({"step": int(m.group(1)), "t": time.time()}), flush=True)
        original_send(generation, html)

    original_send, live._send = live._send, timed_send
    Generation.objects.filter(pk=generation_id).update(started_at=timezone.now(), step=0)
    generation = Generation.objects.get(pk=generation_id)
    progress = JobProgress(generation)
    # A smooth picture with some detail, which JPEG shrinks about as much as a real frame.
    y, x = np.mgrid[0:288, 0:512].astype(np.float32)
    base = np.stack([x / 2, y / 1.2, 128 + 100 * np.sin(x / 23) * np.cos(y / 17)], axis=-1).astype(
        np.uint8
    )
    for done in range(1, steps + 1):
        time.sleep(0.1)
        frame = np.roll(base, done * 8, axis=1)
        progress.step(done, steps, preview=frame)
    print(json.dumps({"end": True}), flush=True)


async def measure(n, args, env, generation_id, cookie, path, daphne_pid) -> str:
    sockets = []
    for _ in range(n):
        sockets.append(await _connect(args.port, path, cookie))
    received: list[dict[int, tuple[float, int]]] = [{} for _ in range(n)]
    readers = [
        asyncio.create_task(_read(r, w, got)) for (r, w), got in zip(sockets, received, strict=True)
    ]
    await asyncio.sleep(1.0)
    cpu_before = _cpu_seconds(daphne_pid)
    sender = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--sender", generation_id, "--steps", str(args.steps),
        "--code", str(args.code), env=env, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    sent: dict[int, float] = {}
    assert sender.stdout is not None
    async for line in sender.stdout:
        record = json.loads(line)
        if "step" in record:
            sent[record["step"]] = record["t"]
    await sender.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(len(got) < len(sent) for got in received):
        await asyncio.sleep(0.1)
    cpu = _cpu_seconds(daphne_pid) - cpu_before
    for task in readers:
        task.cancel()
    for _, writer in sockets:
        writer.close()
    latencies, sizes, lost = [], [], 0
    for got in received:
        for step, t in sent.items():
            if step in got:
                latencies.append((got[step][0] - t) * 1000)
                sizes.append(got[step][1])
            else:
                lost += 1
    await asyncio.sleep(0.5)
    q = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else latencies * 19
    delivered = max(1, len(latencies))
    return (
        f"| {n} | {statistics.median(latencies):.1f} | {q[18]:.1f} | {max(latencies):.1f} | "
        f"{lost} of {len(sent) * n} | {statistics.mean(sizes):,.0f} | {cpu * 1000 / delivered:.2f} |"
    )


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _connect(port: int, path: str, cookie: str):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: http://127.0.0.1:{port}\r\nCookie: {cookie}\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        raise SystemExit(f"Websocket refused: {head[:80]!r}")
    return reader, writer


async def _read(reader, writer, got: dict[int, tuple[float, int]]) -> None:
    """Receive frames; note when each push (by its step) first arrived and how big it was."""
    while True:
        b1, b2 = await reader.readexactly(2)
        length = b2 & 0x7F
        if length == 126:
            length = struct.unpack(">H", await reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", await reader.readexactly(8))[0]
        payload = await reader.readexactly(length)
        now = time.time()
        opcode = b1 & 0x0F
        if opcode == 0x9:  # ping: answer with a masked pong
            writer.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
        elif opcode == 0x1 and (m := STEP.search(payload)):
            got.setdefault(int(m.group(1)), (now, length))
        elif opcode == 0x8:
            return


if __name__ == "__main__":
    main()
