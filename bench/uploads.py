"""What a big upload costs the web server: its memory, and the latency of everyone else.

    STUDIO_VAR_DIR=/tmp/bench-var PORT=8111 scripts/run.sh &
    KEY=$(STUDIO_VAR_DIR=/tmp/bench-var .venv/bin/python manage.py create_api_key bench --create-user)
    .venv/bin/python bench/uploads.py http://127.0.0.1:8111 "$KEY" --var /tmp/bench-var

Sends a 50 MB video (a tiny real MP4 with a 50 MB `free` box, so it probes as a video)
to POST /v1/videos/edits, streaming it from disk, and prints:

- the server's peak RSS added by one upload (each web process's high-water mark, reset
  through /proc/PID/clear_refs before the upload, minus its RSS then, summed over the
  processes); goal <= 64 MB;
- `/login/` p50/p95 idle, then while 4 such uploads run at once; goal p95 <= 5x idle.

The edit itself is refused after the upload is stored and probed when no engine here can
restyle (the default animatic-only studio), which is fine: the cost measured is the upload's.
"""

import argparse
import http.client
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from generation import video  # noqa: E402

CHUNK = 1 << 16


def make_upload(directory: Path, megabytes: int) -> Path:
    """A real MP4 followed by a `free` box of random bytes: a valid video of that size."""
    path = directory / "upload.mp4"
    frames = np.random.default_rng(0).integers(0, 255, (8, 64, 96, 3), dtype=np.uint8)
    video.encode_mp4(frames, 8, path)
    pad = megabytes * 2**20 - path.stat().st_size
    rng = np.random.default_rng(1)
    with open(path, "ab") as f:
        f.write(struct.pack(">I", pad) + b"free")
        left = pad - 8
        while left:
            n = min(left, 1 << 22)
            f.write(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
            left -= n
    return path


def _body(path: Path, boundary: str):
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nbench\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="video"; '
        f'filename="{path.name}"\r\nContent-Type: video/mp4\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head, tail


def upload(base: str, key: str, path: Path) -> tuple[int, float]:
    """POST the file as multipart, read from disk in chunks; return (status, seconds)."""
    url = urlsplit(base)
    boundary = uuid.uuid4().hex
    head, tail = _body(path, boundary)
    length = len(head) + path.stat().st_size + len(tail)

    def parts():
        yield head
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
        yield tail

    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    start = time.perf_counter()
    conn.request(
        "POST",
        "/v1/videos/edits",
        body=parts(),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(length),
        },
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, time.perf_counter() - start


def get_ms(base: str, path: str) -> float:
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    start = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 200, response.status
    return (time.perf_counter() - start) * 1000


def p95(ms: list[float]) -> float:
    ms = sorted(ms)
    return ms[min(len(ms) - 1, int(0.95 * len(ms)))]


def status_kb(pids: list[int], field: str) -> int:
    """A /proc/PID/status figure in kB, summed over the processes."""
    total = 0
    for pid in pids:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        total += next(int(line.split()[1]) for line in lines if line.startswith(field + ":"))
    return total


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of the processes so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def reset_peaks(pids: list[int]) -> None:
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # Reset VmHWM to VmRSS.


def web_pids(var: Path) -> list[int]:
    """The PIDs of the web processes that scripts/run.sh's supervisord runs."""
    ctl = Path(sys.executable).parent / "supervisorctl"
    status = subprocess.run(
        [str(ctl), "-c", str(var / "supervisord.conf"), "status"],
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    return [
        int(words[3].rstrip(","))
        for words in map(str.split, status.splitlines())
        if len(words) > 3 and words[0].startswith("web") and words[1] == "RUNNING"
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("key")
    server = parser.add_mutually_exclusive_group(required=True)
    server.add_argument("--pid", type=int, nargs="+", help="The web server's processes.")
    server.add_argument(
        "--var", type=Path, help="scripts/run.sh's STUDIO_VAR_DIR: its web processes."
    )
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=4)
    parser.add_argument("--idle-calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--control",
        help="Another studio, idle: its /login/ timed alongside, to tell what the machine's "
        "load (the uploaders included) costs any server from what the uploads cost this one.",
    )
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    pids = args.pid or web_pids(args.var)
    assert pids, "no web process found"

    with tempfile.TemporaryDirectory() as tmp:
        path = make_upload(Path(tmp), args.mb)
        status, _ = upload(base, args.key, path)  # Warm up: imports, first-request costs.
        print(f"warm-up upload: HTTP {status}")
        for _ in range(10):
            get_ms(base, "/login/")
        idle = [get_ms(base, "/login/") for _ in range(args.idle_calls)]
        control = args.control.rstrip("/") if args.control else None
        control_idle: list[float] = []
        if control:
            control_idle = [get_ms(control, "/login/") for _ in range(args.idle_calls)]
        control_busy: list[float] = []

        # One upload: the high-water mark it adds to the server's resident memory.
        time.sleep(1)
        reset_peaks(pids)
        before = status_kb(pids, "VmRSS")
        status, seconds = upload(base, args.key, path)
        peak = status_kb(pids, "VmHWM")
        after = status_kb(pids, "VmRSS")
        added = (peak - before) / 1024

        # Several at once, from other processes (so this one's timings do not wait for the
        # uploaders' GIL), and /login/ meanwhile; `--rounds` times for enough samples.
        results: list[tuple[int, float]] = []
        busy: list[float] = []
        reset_peaks(pids)
        before_many = status_kb(pids, "VmRSS")
        cpu = cpu_seconds(pids)
        with ProcessPoolExecutor(args.concurrent) as pool:
            for _ in range(args.rounds):
                futures = [
                    pool.submit(upload, base, args.key, path) for _ in range(args.concurrent)
                ]
                while not all(f.done() for f in futures):
                    busy.append(get_ms(base, "/login/"))
                    if control:
                        control_busy.append(get_ms(control, "/login/"))
                    time.sleep(0.02)
                results += [f.result() for f in futures]
        peak_many = status_kb(pids, "VmHWM")
        cpu = (cpu_seconds(pids) - cpu) / len(results)  # The /login/ calls' share is small.

    print(f"\none {args.mb} MB upload: HTTP {status} in {seconds:.2f} s")
    print(f"web processes: {len(pids)}; load average: {os.getloadavg()[0]:.2f} at the end")
    print("| measure | value | goal |\n|---|---|---|")
    print(f"| server RSS before | {before / 1024:.0f} MB | |")
    print(f"| server peak RSS added by one upload | {added:.0f} MB | <= 64 MB |")
    print(f"| server RSS after | {after / 1024:.0f} MB | |")
    print(f"| server CPU per upload (mean of {len(results)}) | {cpu * 1000:.0f} ms | |")
    print(
        f"| server peak RSS added by {args.concurrent} at once | "
        f"{(peak_many - before_many) / 1024:.0f} MB | |"
    )
    print(f"| /login/ idle p50 / p95 | {statistics.median(idle):.1f} / {p95(idle):.1f} ms | |")
    print(
        f"| /login/ during {args.concurrent} uploads p50 / p95 ({len(busy)} calls) | "
        f"{statistics.median(busy):.1f} / {p95(busy):.1f} ms | <= {5 * p95(idle):.1f} ms |"
    )
    if control:
        print(
            f"| control studio /login/ p50 / p95, idle; during the uploads | "
            f"{statistics.median(control_idle):.1f} / {p95(control_idle):.1f} ms; "
            f"{statistics.median(control_busy):.1f} / {p95(control_busy):.1f} ms | |"
        )
    statuses = sorted({status for status, _ in results})
    slowest = max(seconds for _, seconds in results)
    print(f"| uploads | {len(results)}, HTTP {statuses}, slowest {slowest:.2f} s | |")


if __name__ == "__main__":
    main()
