"""The /v1 API under load: concurrent creates and lists against a running studio.

    STUDIO_VAR_DIR=/tmp/bench-var PORT=8111 STUDIO_API_RATE_LIMIT=0 scripts/run.sh &
    KEY=$(STUDIO_VAR_DIR=/tmp/bench-var .venv/bin/python manage.py create_api_key bench --create-user)
    .venv/bin/python bench/api_load.py http://127.0.0.1:8111 "$KEY" [--seconds 60]

For `--seconds`, `--creates` clients (default 20) each POST /v1/videos (a 1 s animatic
at 96x64) back to back, and `--lists` clients (default 50) each GET /v1/videos?limit=20;
then prints requests, errors and latency percentiles per kind. Every client has its own
keep-alive connection; the clients run in `--procs` processes so their own GIL does not
inflate the timings. Start the studio with the rate limit off, or most answers are 429s.
"""

import argparse
import http.client
import json
import statistics
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from urllib.parse import urlsplit

CREATE = json.dumps(
    {"prompt": "load", "model": "animatic", "seconds": "1", "size": "96x64"}
).encode()


def client(base: str, key: str, kind: str, until: float) -> list[tuple[int, float]]:
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    headers = {"Authorization": f"Bearer {key}"}
    out = []
    while time.time() < until:
        start = time.perf_counter()
        try:
            if kind == "create":
                conn.request(
                    "POST",
                    "/v1/videos",
                    body=CREATE,
                    headers={**headers, "Content-Type": "application/json"},
                )
            else:
                conn.request("GET", "/v1/videos?limit=20", headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = 0
            conn.close()
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        out.append((status, (time.perf_counter() - start) * 1000))
    conn.close()
    return out


def worker(base: str, key: str, kinds: list[str], until: float) -> dict[str, list]:
    results: dict[str, list] = {"create": [], "list": []}
    lock = threading.Lock()

    def run(kind: str) -> None:
        got = client(base, key, kind, until)
        with lock:
            results[kind] += got

    threads = [threading.Thread(target=run, args=(k,)) for k in kinds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def pct(ms: list[float], p: float) -> float:
    ms = sorted(ms)
    return ms[min(len(ms) - 1, int(p * len(ms)))] if ms else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("key")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--creates", type=int, default=20)
    parser.add_argument("--lists", type=int, default=50)
    parser.add_argument("--procs", type=int, default=2)
    args = parser.parse_args()
    base = args.base_url.rstrip("/")

    kinds = ["create"] * args.creates + ["list"] * args.lists
    shares = [kinds[i :: args.procs] for i in range(args.procs)]
    until = time.time() + args.seconds
    merged: dict[str, list] = {"create": [], "list": []}
    with ProcessPoolExecutor(args.procs) as pool:
        for got in pool.map(worker, [base] * args.procs, [args.key] * args.procs, shares,
                            [until] * args.procs):  # fmt: skip
            for kind, rows in got.items():
                merged[kind] += rows

    print(f"{args.creates} creating and {args.lists} listing clients for {args.seconds:.0f} s\n")
    print("| call | requests | per s | non-2xx | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|---|---|")
    for kind, rows in merged.items():
        ms = [m for _, m in rows]
        bad = sum(1 for s, _ in rows if not 200 <= s < 300)
        codes = sorted({s for s, _ in rows if not 200 <= s < 300})
        print(
            f"| {kind} | {len(rows)} | {len(rows) / args.seconds:.1f} | {bad} {codes or ''} | "
            f"{statistics.median(ms):.0f} | {pct(ms, 0.95):.0f} | {max(ms):.0f} |"
        )


if __name__ == "__main__":
    main()
