"""Latency of the /v1 API as the official SDK sees it, against a running studio.

    .venv/bin/python bench/api_latency.py http://127.0.0.1:8000 "$KEY" [--calls 50]

Start the studio with `STUDIO_API_RATE_LIMIT=0 make run` (the calls exceed 60 a minute).
Prints median and 95th-percentile milliseconds per call, and the time from `create` to
`completed` for a 1 s animatic clip (queue, worker, encode, poll at 100 ms).
"""

import argparse
import statistics
import time

from openai import OpenAI


def timed(fn, calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("key")
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    client = OpenAI(base_url=f"{args.base_url}/v1", api_key=args.key, max_retries=0)

    start = time.perf_counter()
    video = client.videos.create_and_poll(
        prompt="bench", model="animatic", seconds="1", size="256x144", poll_interval_ms=100
    )
    made = time.perf_counter() - start
    assert video.status == "completed", video.error

    rows = {
        "videos.retrieve": lambda: client.videos.retrieve(video.id),
        "videos.list(limit=20)": lambda: client.videos.list(limit=20),
        "models.list": lambda: client.models.list(),
        "download_content (thumbnail)": lambda: (
            client.videos.download_content(video.id, variant="thumbnail").content
        ),
    }
    print("| call | median ms | p95 ms |\n|---|---|---|")
    for name, fn in rows.items():
        ms = sorted(timed(fn, args.calls))
        p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
        print(f"| {name} | {statistics.median(ms):.1f} | {p95:.1f} |")
    print(f"\ncreate_and_poll, 1 s animatic at 256×144: {made:.2f} s")


if __name__ == "__main__":
    main()
