"""First load of a project page with 12 clips: bytes on the wire and requests, in Chromium.

Run: `.venv/bin/python bench/page_weight.py [--clips 12] [--port 8152] [--code DIR]`.
It starts Redis and daphne on a temporary database and media directory, runs
`collectstatic` (as scripts/run.sh does), seeds the clips with `seed_gallery`, and opens
the project page in a fresh browser context (empty cache, logged in by cookie) at
1360×900 and 390×844. Bytes are what Chromium reports per response (headers + body as
transferred, so compressed where the server compressed). "Scrolled" adds what lazy images
fetch once the whole page has been scrolled through. `--code` measures another checkout.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--port", type=int, default=8152)
    parser.add_argument("--code", type=Path, default=HERE)
    args = parser.parse_args()
    code = args.code.resolve()
    tmp = Path(tempfile.mkdtemp(prefix="studio-weight-"))
    (tmp / "var").mkdir()
    env = dict(
        os.environ,
        REDIS_URL=f"unix://{tmp / 'r.sock'}?db=0",
        STUDIO_VAR_DIR=str(tmp / "var"),
        DJANGO_SETTINGS_MODULE="studio.settings",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(code),
    )
    py = str(HERE / ".venv/bin/python")
    procs = [
        subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", str(tmp / "r.sock"), "--save", ""],
            stdout=subprocess.DEVNULL,
        )
    ]
    try:
        for command in (["migrate", "-v0"], ["collectstatic", "--no-input", "-v0"]):
            subprocess.run([py, "manage.py", *command], cwd=code, env=env, check=True)
        cookie, project = subprocess.run(
            [py, "-c", SETUP, str(args.clips)], cwd=code, env=env, check=True,
            capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        procs.append(
            subprocess.Popen(
                [
                    str(HERE / ".venv/bin/daphne"),
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(args.port),
                    "studio.asgi:application",
                ],
                cwd=code,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        )
        time.sleep(3)
        measure(f"http://127.0.0.1:{args.port}/projects/{project}/", cookie, args.port)
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait()


SETUP = """
import sys, io, django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from studio.teams.services import user_signup
user = user_signup(username="weigher", password="bench-pass-123")
out = io.StringIO()
call_command("seed_gallery", "weigher", sys.argv[1], stdout=out, stderr=io.StringIO())
client = Client()
client.force_login(user)
print(client.cookies[settings.SESSION_COOKIE_NAME].value, out.getvalue().strip())
"""


def measure(url: str, session: str, port: int) -> None:
    from playwright.sync_api import sync_playwright

    print("| viewport | first load KB | requests | scrolled KB | requests | HTML KB | images KB |")
    print("|---|---|---|---|---|---|---|")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for width, height in ((1360, 900), (390, 844)):
            context = browser.new_context(viewport={"width": width, "height": height})
            context.add_cookies(
                [{"name": "sessionid", "value": session, "url": f"http://127.0.0.1:{port}"}]
            )
            page = context.new_page()
            responses = []
            page.on("requestfinished", lambda r, seen=responses: seen.append(r))
            page.goto(url, wait_until="networkidle")
            first = _sizes(responses)
            for _ in range(30):
                page.mouse.wheel(0, 800)
                page.wait_for_timeout(100)
            page.wait_for_load_state("networkidle")
            scrolled = _sizes(responses)
            print(
                f"| {width}×{height} | {first['total'] / 1024:.1f} | {first['n']} | "
                f"{scrolled['total'] / 1024:.1f} | {scrolled['n']} | {first['html'] / 1024:.1f} | "
                f"{scrolled['image'] / 1024:.1f} |"
            )
            context.close()
        browser.close()


def _sizes(requests) -> dict[str, float]:
    out = {"total": 0.0, "n": 0, "html": 0.0, "image": 0.0}
    for r in requests:
        sizes = r.sizes()
        size = sizes["responseHeadersSize"] + sizes["responseBodySize"]
        out["total"] += size
        out["n"] += 1
        if r.resource_type == "document":
            out["html"] += size
        elif r.resource_type == "image":
            out["image"] += size
    return out


if __name__ == "__main__":
    sys.exit(main())
