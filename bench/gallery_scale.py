"""Page and query cost at 10 and 10,000 clips in one project (p50 of interleaved requests).

Run: `.venv/bin/python bench/gallery_scale.py [--sizes 10,10000] [--rounds 40]`.
It starts its own Redis on a temporary socket, uses a temporary SQLite database, seeds one
user and project per size with `manage.py seed_gallery`, and drives the views in-process
with Django's test client (middleware, templates and queries included; no socket). Each
round requests every case at every size in turn, so load on the machine hits them alike.
Prints a markdown table of p50 milliseconds, the ratio to the smallest size, and the
number of SQL queries per request.
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
    parser.add_argument("--sizes", default="10,10000")
    parser.add_argument("--rounds", type=int, default=40)
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
        (tmp / "var").mkdir()
        os.environ.update(
            REDIS_URL=f"unix://{tmp / 'r.sock'}?db=0",
            STUDIO_VAR_DIR=str(tmp / "var"),
            STUDIO_API_RATE_LIMIT="0",
            DJANGO_SETTINGS_MODULE="studio.settings",
            LOG_LEVEL="WARNING",
        )
        run([int(s) for s in args.sizes.split(",")], args.rounds)
    finally:
        redis.terminate()


def run(sizes: list[int], rounds: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from studio.jobs.models import Clip, Generation
    from studio.keys.services import api_key_create
    from studio.projects.models import Project
    from studio.teams.services import user_signup

    call_command("migrate", verbosity=0)
    cases: dict[str, dict[int, tuple]] = {}
    for n in sizes:
        user = user_signup(username=f"u{n}", password="bench-pass-123")
        out = _call(call_command, "seed_gallery", user.username, str(n))
        project = Project.objects.get(pk=int(out))
        client = Client()
        client.force_login(user)
        _, team_key = api_key_create(team=project.team, user=user, name="team")
        _, project_key = api_key_create(team=project.team, user=user, name="p", project=project)
        clips = list(
            Clip.objects.filter(project=project)
            .order_by("-created_at", "-pk")
            .values_list("pk", flat=True)
        )
        page = reverse("project-detail", args=[project.pk])
        cases.setdefault("project page", {})[n] = (client, page, {})
        cases.setdefault("gallery last page", {})[n] = (client, _last_page(page, clips), {})
        cases.setdefault("clip page", {})[n] = (client, f"/clips/{clips[len(clips) // 2]}/", {})
        cases.setdefault("projects list", {})[n] = (client, reverse("project-list"), {})
        for label, key in (("team key", team_key), ("project key", project_key)):
            auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
            cases.setdefault(f"/v1/videos?limit=100 ({label})", {})[n] = (
                client,
                "/v1/videos?limit=100",
                auth,
            )
        cases.setdefault("active-jobs query", {})[n] = (None, project, {})

    def once(client, target, headers) -> float:
        start = time.perf_counter()
        if client is None:
            list(_active(target))
        else:
            response = client.get(target, **headers)
            assert response.status_code == 200, (target, response.status_code)
            b"".join(response) if response.streaming else response.content
        return time.perf_counter() - start

    times: dict[tuple[str, int], list[float]] = {}
    for case in cases.values():  # warm up
        for spec in case.values():
            once(*spec)
    for _ in range(rounds):
        for name, case in cases.items():
            for n, spec in case.items():
                times.setdefault((name, n), []).append(once(*spec))
    queries: dict[tuple[str, int], int] = {}
    for name, case in cases.items():
        for n, spec in case.items():
            with CaptureQueriesContext(connection) as ctx:
                once(*spec)
            queries[name, n] = len(ctx.captured_queries)

    base = sizes[0]
    head = " | ".join(f"{n:,} clips p50 ms" for n in sizes)
    print(f"| what | {head} | ratio {sizes[-1]:,}/{base:,} | queries |")
    print("|---|" + "---|" * len(sizes) + "---|---|")
    for name in cases:
        p50 = {n: statistics.median(times[name, n]) * 1000 for n in sizes}
        cells = " | ".join(f"{p50[n]:.1f}" for n in sizes)
        counts = "/".join(str(queries[name, n]) for n in sizes)
        print(f"| {name} | {cells} | {p50[sizes[-1]] / p50[base]:.2f}× | {counts} |")
    del Generation


def _call(call_command, *args) -> str:
    import io

    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def _last_page(page: str, clips: list[int]) -> str:
    """The gallery's oldest page: a keyset cursor where the gallery has one, else ?page=N."""
    try:
        from studio.gallery.services import GALLERY_PAGE_SIZE, gallery_cursor_for
    except ImportError:
        from studio.workspace.views import CLIPS_PER_PAGE

        return f"{page}?page={-(-len(clips) // CLIPS_PER_PAGE)}"
    from studio.jobs.models import Clip

    at = max(0, len(clips) - GALLERY_PAGE_SIZE - 1)
    return f"{page}?after={gallery_cursor_for(Clip.objects.get(pk=clips[at]))}"


def _active(project):
    try:
        from studio.jobs.selectors import active_generations
    except ImportError:
        from datetime import timedelta

        from django.db.models import Q
        from django.utils import timezone

        from studio.jobs.models import Generation

        recent = timezone.now() - timedelta(days=1)
        return (
            Generation.objects.filter(project=project, clip__isnull=True)
            .filter(Q(status__in=Generation.ACTIVE) | Q(finished_at__gte=recent))
            .select_related("prompt")
            .order_by("-queued_at")[:20]
        )
    return active_generations(project)


if __name__ == "__main__":
    main()
