"""Infrastructure faults are never the job's failure: Redis dying mid-job, a worker stopped
or killed, and the leftovers of crashes (stale `rq:wip` entries, scratch files)."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from generation.spec import GenerationRequest
from studio.jobs.jobs import is_infrastructure_error
from studio.jobs.models import Clip, Generation
from studio.jobs.services import generation_submit, without_paths
from studio.jobs.worker import StudioWorker, reconcile, sweep_scratch
from tests.conftest import database_url_for_subprocess


def submit(project, user, **fields):
    values = dict(prompt="A red kite", width=128, height=96, num_frames=12, fps=12, seed=7)
    request = GenerationRequest(**{**values, **fields})
    return generation_submit(project=project, user=user, engine_id="animatic", request=request)


# --- Redis dying under a real worker ----------------------------------------------------


class RedisServer:
    """A redis-server of the test's own on a unix socket, to kill and start again."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.socket = folder / "redis.sock"
        self.url = f"unix://{self.socket}?db=0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", str(self.socket),
             "--unixsocketperm", "700", "--dir", str(self.folder), "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-s", str(self.socket), "ping"], capture_output=True, text=True
            ).stdout.strip()
            != "PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def own_redis(tmp_path, settings):
    """A Redis this test may kill; the test process enqueues into it too."""
    server = RedisServer(tmp_path)
    server.start()
    settings.RQ_QUEUES = {"default": {"URL": server.url, "DEFAULT_TIMEOUT": 600}}
    yield server
    with contextlib.suppress(Exception):
        server.kill()


def start_worker(redis_url: str, log: Path, **env) -> subprocess.Popen:
    """`manage.py rqworker` with the studio's worker class, as `make run` starts it."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "default",
         "--worker-class", "studio.jobs.worker.StudioWorker"],
        cwd=django_settings.BASE_DIR,
        env={**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": database_url_for_subprocess(),
             "MEDIA_ROOT": str(django_settings.MEDIA_ROOT), **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def watch(generation, until, timeout=90.0) -> set[str]:
    """Poll the row until `until(row)`; return every error code it showed meanwhile."""
    codes: set[str] = set()
    deadline = time.monotonic() + timeout
    while True:
        generation.refresh_from_db()
        codes.add(generation.error_code)
        if until(generation):
            return codes
        assert time.monotonic() < deadline, (generation.status, generation.error)
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_redis_dying_mid_job_puts_it_back_and_it_completes(
    alice, alice_project, own_redis, tmp_path
):
    """Redis dies mid-job and the worker is then told to stop (as the old `make run` did
    when Redis died): the job goes back to the queue with its attempt refunded, and
    finishes once Redis and a worker are back. It never shows as the engine's failure."""
    log = tmp_path / "worker.log"
    worker = start_worker(own_redis.url, log, STUDIO_STOP_GRACE="1.5")
    try:
        # Long enough (rendering and encoding 480 frames of 720p) to outlast the ~1.5 s from
        # the kill to the cold stop even on an idle machine.
        g = submit(alice_project, alice, width=1280, height=720, num_frames=480, fps=24)
        codes = watch(g, lambda r: r.status == "running" and r.step > 0)
        own_redis.kill()
        time.sleep(0.3)
        worker.send_signal(signal.SIGTERM)  # warm stop, then cold after the grace period
        assert worker.wait(timeout=60) is not None
        codes |= watch(g, lambda r: r.status != "running", timeout=5)
        assert (g.status, g.attempts, g.worker) == ("queued", 0, ""), g.error

        own_redis.start()  # empty: the queue is gone with it; reconcile enqueues the row
        worker = start_worker(own_redis.url, log)
        codes |= watch(g, lambda r: r.status in ("succeeded", "failed", "cancelled"))
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        sys.stderr.write(log.read_text(errors="replace")[-4000:])
    assert g.status == "succeeded", g.error
    assert g.attempts == 1 and "engine_error" not in codes, codes
    assert Clip.objects.filter(generation=g).exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_redis_restarting_mid_job_does_not_fail_it(alice, alice_project, own_redis, tmp_path):
    """Redis dies mid-job and comes back: the running job finishes, and the worker (or
    the one started in its place, as supervisord would) takes the next job."""
    log = tmp_path / "worker.log"
    worker = start_worker(own_redis.url, log)
    try:
        g = submit(alice_project, alice, width=1280, height=720, num_frames=96, fps=24)
        codes = watch(g, lambda r: r.status == "running" and r.step > 0)
        own_redis.kill()
        time.sleep(1.0)
        own_redis.start()
        codes |= watch(g, lambda r: r.status in ("succeeded", "failed", "cancelled", "queued"))
        if g.status == "queued" or worker.poll() is not None:
            worker.wait(timeout=60)
            worker = start_worker(own_redis.url, log)
        codes |= watch(g, lambda r: r.status in ("succeeded", "failed", "cancelled"))
        after = submit(alice_project, alice)
        watch(after, lambda r: r.status == "succeeded" or worker.poll() is not None)
        if worker.poll() is not None:  # It quit when Redis vanished under its bookkeeping.
            worker = start_worker(own_redis.url, log)
            watch(after, lambda r: r.status == "succeeded")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        sys.stderr.write(log.read_text(errors="replace")[-4000:])
    assert g.status == "succeeded" and "engine_error" not in codes, (g.error, codes)


def test_redis_errors_are_infrastructure_and_messages_lose_paths():
    import redis.exceptions

    assert is_infrastructure_error(redis.exceptions.ConnectionError("gone"))
    try:
        try:
            raise redis.exceptions.TimeoutError("slow")
        except redis.exceptions.TimeoutError as e:
            raise RuntimeError("wrapped") from e
    except RuntimeError as wrapped:
        assert is_infrastructure_error(wrapped)
    assert not is_infrastructure_error(ValueError("bad frame"))
    assert not is_infrastructure_error(ConnectionError("an engine's own socket"))

    message = without_paths(
        "The engine failed: FileNotFoundError: [Errno 2] No such file or directory: "
        "'/srv/studio var/media/clips/3/a.mp4' (socket /tmp/x/redis.sock)"
    )
    assert "/srv" not in message and "/tmp" not in message and "studio var" not in message
    assert "a.mp4" in message and "redis.sock" in message
    assert without_paths("size 1/2 at http://example.com/a/b") == (
        "size 1/2 at http://example.com/a/b"
    )


@pytest.mark.django_db
def test_a_failure_stored_for_users_names_no_server_path(
    alice, alice_project, run_worker, settings, tmp_path, django_capture_on_commit_callbacks
):
    missing = tmp_path / "models" / "missing-model"
    settings.STUDIO_ENGINE_CONFIGS = {"animatic": {}, "wan": {"model": str(missing)}}
    request = GenerationRequest(
        prompt="a kite", width=32, height=32, num_frames=9, fps=8, seed=1, steps=2
    )
    with django_capture_on_commit_callbacks(execute=True):
        g = generation_submit(project=alice_project, user=alice, engine_id="wan", request=request)
    run_worker()
    g.refresh_from_db()
    assert g.status == "failed" and "missing-model" in g.error, g.error
    assert str(tmp_path) not in g.error and "/models/" not in g.error, g.error


@pytest.mark.django_db
def test_a_stop_while_cancel_was_asked_cancels(alice, alice_project):
    from studio.jobs.services import generation_claim, generation_release

    g = submit(alice_project, alice)
    assert generation_claim(generation_id=str(g.pk), worker="w1")
    Generation.objects.filter(pk=g.pk).update(cancel_requested=True)
    assert not generation_release(generation_id=str(g.pk), worker="w1")
    g.refresh_from_db()
    assert g.status == "cancelled"
    other = submit(alice_project, alice)
    assert generation_claim(generation_id=str(other.pk), worker="w1")
    assert not generation_release(generation_id=str(other.pk), worker="w2")  # not its run
    assert generation_release(generation_id=str(other.pk), worker="w1")
    other.refresh_from_db()
    assert (other.status, other.attempts, other.started_at) == ("queued", 0, None)


# --- Leftovers of crashes ---------------------------------------------------------------


def _dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


@pytest.mark.django_db
def test_reconcile_drops_stale_wip_entries_and_enqueues_what_they_hid(
    alice, alice_project, redis_conn, django_capture_on_commit_callbacks, settings
):
    import django_rq
    from rq import Worker

    settings.STUDIO_FAIR_SHARE_SLOTS = 10  # all three rows are dispatched to Redis
    from rq.executions import Execution
    from rq.registry import StartedJobRegistry

    queue = django_rq.get_queue("default")
    registry = StartedJobRegistry(queue=queue)
    ghost = Worker([queue], connection=redis_conn, name="ghost")
    ghost.register_birth()
    redis_conn.hset(ghost.key, "pid", _dead_pid())  # killed: its key lives on for minutes
    alive = Worker([queue], connection=redis_conn, name="alive")
    alive.register_birth()
    redis_conn.hset(alive.key, "pid", os.getpid())

    def wip(job_id: str, worker: str | None) -> str:
        execution = Execution(f"exec-{job_id[:6]}", job_id, redis_conn, worker_name=worker or "")
        if worker is not None:
            redis_conn.hset(execution.key, mapping={"worker_name": worker})
        redis_conn.zadd(registry.key, {execution.composite_key: time.time() + 6 * 3600})
        return execution.composite_key

    # Rows left queued by a crash (their Redis job gone), each hidden by a stale wip entry.
    hidden = submit(alice_project, alice)
    lost = submit(alice_project, alice)
    busy = submit(alice_project, alice)  # a live worker took it and is about to claim it
    stale = {wip(str(hidden.pk), "ghost"), wip(str(lost.pk), None)}
    kept = wip(str(busy.pk), "alive")

    with django_capture_on_commit_callbacks(execute=True):
        counts = reconcile(redis_conn, [queue])

    members = {m.decode() for m in redis_conn.zrange(registry.key, 0, -1)}
    assert members == {kept} and not stale & members
    assert counts["stale_entries"] == 2 and counts["requeued"] == 2
    assert set(queue.get_job_ids()) == {str(hidden.pk), str(lost.pk)}
    assert reconcile(redis_conn, [queue]) == {"requeued": 0, "retried": 0, "failed": 0}


def test_sweep_removes_what_crashed_runs_left_and_nothing_live(tmp_path, monkeypatch):
    import tempfile

    temp, media = tmp_path / "tmp", tmp_path / "media"
    (media / "clips/3").mkdir(parents=True)
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    now = time.time()

    def make(path: Path, age: float, *, folder: bool = False) -> Path:
        if folder:
            path.mkdir()
            (path / "clip.mp4").write_bytes(b"half an mp4")
            os.utime(path / "clip.mp4", (now - age, now - age))
        else:
            path.write_bytes(b"half an mp4")
        os.utime(path, (now - age, now - age))
        return path

    dead_encode = make(temp / f"studio-clip-{_dead_pid()}-ab12", 5, folder=True)
    live_encode = make(temp / f"studio-clip-{os.getpid()}-cd34", 5, folder=True)
    old_encode = make(temp / f"studio-clip-{os.getpid()}-ef56", 7200, folder=True)
    other_tool = make(temp / "pytest-of-someone", 7200, folder=True)
    old_part = make(media / "clips/3/.publishing-x1y2.part", 7200)
    new_part = make(media / "clips/3/.publishing-z3w4.part", 5)
    old_tmp = make(media / "clips/.tmp-9876", 7200, folder=True)
    clip = make(media / "clips/3/kite.mp4", 7200)

    assert sweep_scratch(media_root=media, older_than=3600, now=now) == 4
    assert not any(p.exists() for p in (dead_encode, old_encode, old_part, old_tmp))
    assert all(p.exists() for p in (live_encode, other_tool, new_part, clip))


def test_sweep_removes_stale_long_video_segments_only(tmp_path):
    from studio.jobs.worker import sweep_long_segments

    now = time.time()
    root = tmp_path / "longvideo"
    stale, fresh = root / "a", root / "b"
    for path, age in ((stale, 8 * 86400), (fresh, 3600)):
        path.mkdir(parents=True)
        (path / "segment-000.npz").write_bytes(b"frames")
        os.utime(path / "segment-000.npz", (now - age, now - age))
        os.utime(path, (now - age, now - age))
    assert sweep_long_segments(root=root, older_than=7 * 86400, now=now) == 1
    assert not stale.exists() and fresh.exists()
    assert sweep_long_segments(root=tmp_path / "missing", older_than=1, now=now) == 0


@pytest.mark.django_db
def test_worker_start_up_sweeps_a_dead_workers_leftovers(
    redis_conn, run_worker, settings, tmp_path, monkeypatch
):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    leftover = tmp_path / f"studio-clip-{_dead_pid()}-0000"
    leftover.mkdir()
    (leftover / "clip.mp4").write_bytes(b"partial")
    part = Path(settings.MEDIA_ROOT) / "clips/1/.publishing-abcd.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"partial")
    os.utime(part, (time.time() - 2 * 3600,) * 2)

    assert isinstance(run_worker(), StudioWorker)
    assert not leftover.exists() and not part.exists()
