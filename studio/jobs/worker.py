"""The studio's RQ worker: no fork per job (engines stay warm); it reconciles the database
with Redis and clears what crashed runs left behind (DESIGN "Lifecycle" 5)."""

import contextlib
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path

import redis.exceptions
from django.conf import settings
from django.core.files.storage import default_storage
from rq import Queue, SimpleWorker, Worker
from rq.executions import Execution
from rq.registry import StartedJobRegistry
from rq.timeouts import TimerDeathPenalty

from studio.jobs.jobs import INFRASTRUCTURE_ERRORS
from studio.jobs.models import Generation
from studio.jobs.services import CLIP_TMP_PREFIX, generation_reconcile
from studio.jobs.services import QUEUE as GENERATION_QUEUE

logger = logging.getLogger(__name__)

# Scratch files a crash can leave: a clip being encoded (in the temp directory) and a file
# being published into media (beside its target). Both are seconds old in a live run.
PUBLISHING_PREFIX, PUBLISHING_SUFFIX = ".publishing-", ".part"
MEDIA_TMP_PREFIX = ".tmp-"
MEDIA_SWEEP_INTERVAL = 600.0  # Seconds between walks of the media tree.
RECONCILE_LOCK = "studio:reconcile"
DEQUEUE_WAIT = 5  # Seconds an idle worker blocks on the queue between maintenance checks.


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _died_here(worker: Worker) -> bool:
    """Tell a crashed worker on this host from a live one before its Redis key expires."""
    if worker.hostname != socket.gethostname() or not worker.pid:
        return False
    return not _pid_alive(worker.pid)


def live_worker_names(connection) -> set[str]:
    return {w.name for w in Worker.all(connection=connection) if not _died_here(w)}


def clean_started_registries(connection, queues, live: set[str]) -> int:
    """Drop StartedJobRegistry (`rq:wip:<queue>`) entries no live worker is running.

    RQ keeps an entry until the job's timeout (hours) when its worker died or lost Redis
    before cleaning up. Such an entry would hide a job reconcile must enqueue again.
    """
    removed = 0
    for queue in queues:
        registry = StartedJobRegistry(queue=queue)
        for composite in connection.zrange(registry.key, 0, -1):
            composite = composite.decode() if isinstance(composite, bytes) else composite
            job_id, _, execution_id = composite.rpartition(":")
            owner = connection.hget(Execution(execution_id, job_id, connection).key, "worker_name")
            if owner is not None and owner.decode() in live:
                continue
            removed += connection.zrem(registry.key, composite)
    return removed


def _newest_mtime(path: Path) -> float:
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for child in path.rglob("*"):
            try:
                newest = max(newest, child.lstat().st_mtime)
            except OSError:
                continue
    return newest


def _remove(path: Path) -> bool:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        return False
    except OSError:
        logger.warning("Could not remove %s", path, exc_info=True)
        return False
    return True


def sweep_scratch(*, media_root: Path | None, older_than: float, now: float | None = None) -> int:
    """Remove scratch files that crashed runs left; return how many were removed.

    In the temp directory: clip encodes (`studio-clip-<pid>-*`) whose process is gone, or
    older than `older_than` seconds. Under `media_root` (local media only): files being
    published (`.publishing-*.part`) and `.tmp-*` directories, once untouched for
    `older_than` seconds. A live job's files are never that old.
    """
    now = time.time() if now is None else now
    removed = 0
    for path in Path(tempfile.gettempdir()).glob(f"{CLIP_TMP_PREFIX}*"):
        pid_text, dash, _ = path.name[len(CLIP_TMP_PREFIX) :].partition("-")
        try:
            dead = bool(dash) and pid_text.isdigit() and not _pid_alive(int(pid_text))
            stale = dead or now - _newest_mtime(path) > older_than
        except OSError:
            continue
        if stale and _remove(path):
            removed += 1
    if media_root is None or not media_root.is_dir():
        return removed
    for folder, dirs, files in os.walk(media_root):
        candidates = [
            Path(folder, f)
            for f in files
            if f.startswith(PUBLISHING_PREFIX) and f.endswith(PUBLISHING_SUFFIX)
        ]
        candidates += [Path(folder, d) for d in dirs if d.startswith(MEDIA_TMP_PREFIX)]
        dirs[:] = [d for d in dirs if not d.startswith(MEDIA_TMP_PREFIX)]
        for path in candidates:
            try:
                stale = now - _newest_mtime(path) > older_than
            except OSError:
                continue
            if stale and _remove(path):
                removed += 1
    return removed


def sweep_long_segments(*, root: Path, older_than: float, now: float | None = None) -> int:
    """Remove saved segments of chained long videos (`studio.jobs.jobs._long_workdir`)
    untouched for `older_than` seconds: a failed chain resumes from them on a retry or a
    resubmit of the same recipe, but not forever. Return how many chains were removed."""
    now = time.time() if now is None else now
    removed = 0
    if not root.is_dir():
        return 0
    for path in root.iterdir():
        try:
            stale = path.is_dir() and now - _newest_mtime(path) > older_than
        except OSError:
            continue
        if stale and _remove(path):
            removed += 1
    return removed


def _local_media_root() -> Path | None:
    try:
        return Path(default_storage.path(""))
    except NotImplementedError:  # S3 and the like: nothing on this machine to sweep.
        return None


def reconcile(connection, queues) -> dict[str, int]:
    """Compare the database with Redis and the live workers; heal what drifted.

    One worker at a time (a Redis lock): two reconciling at once could both enqueue a
    row again. A worker that finds the lock taken skips this round.
    """
    lock = connection.lock(RECONCILE_LOCK, timeout=120, blocking=False)
    if not lock.acquire():
        return {"requeued": 0, "retried": 0, "failed": 0}
    try:
        return _reconcile(connection, queues)
    finally:
        with contextlib.suppress(redis.exceptions.LockError, *INFRASTRUCTURE_ERRORS):
            lock.release()


def _reconcile(connection, queues) -> dict[str, int]:
    # Generations wait in their own queue, whichever queues this worker takes (the downloads
    # worker takes only `models`): what Redis holds of them is read from there.
    if GENERATION_QUEUE not in {q.name for q in queues}:
        queues = [*queues, Queue(GENERATION_QUEUE, connection=connection)]
    live = live_worker_names(connection)
    stale = clean_started_registries(connection, queues, live)
    known: set[str] = set()
    for queue in queues:
        known.update(queue.get_job_ids())
        known.update(StartedJobRegistry(queue=queue).get_job_ids())
    counts = generation_reconcile(live_workers=live, queued_job_ids=known)
    if stale:
        counts["stale_entries"] = stale
    if any(counts.values()):
        logger.info("Reconciled generations: %s", counts)
    return counts


class StudioWorker(SimpleWorker):
    """Run jobs in this process so loaded pipelines serve the next job without reloading.

    Redis going away is an interruption, not a failure: the worker waits for it at
    start-up, never fails a job over it, and a stop request (SIGTERM, Ctrl-C) lets the
    job finish for STUDIO_STOP_GRACE seconds before putting it back in the queue.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Reconcile runs with the maintenance tasks; once a minute keeps recovery prompt.
        self.maintenance_interval = min(self.maintenance_interval, 60)
        self._last_swept = 0.0
        if threading.current_thread() is not threading.main_thread():
            self.death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        # Python only allows signal handlers in the main thread; embedded workers skip them.
        if threading.current_thread() is threading.main_thread():
            super()._install_signal_handlers()

    def _wait_for_redis(self) -> None:
        delay = 0.1
        while True:
            try:
                self.connection.ping()
                return
            except INFRASTRUCTURE_ERRORS as e:
                logger.warning("Waiting for Redis: %s", e)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def bootstrap(self, *args, **kwargs):
        self._wait_for_redis()
        super().bootstrap(*args, **kwargs)
        self._maintain(at_start=True)

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        self._maintain(at_start=False)

    def _maintain(self, *, at_start: bool) -> None:
        try:
            reconcile(self.connection, self.queues)
        except INFRASTRUCTURE_ERRORS:
            # Redis went away: RQ's loop waits for it, then maintenance runs again.
            self.last_cleaned_at = None
            if not at_start:
                raise
            logger.warning("Reconcile at start-up could not reach Redis", exc_info=True)
        except Exception:
            logger.exception("Reconcile failed")
        now = time.monotonic()
        if at_start or now - self._last_swept >= MEDIA_SWEEP_INTERVAL:
            self._last_swept = now
            try:
                removed = sweep_scratch(
                    media_root=_local_media_root(), older_than=settings.STUDIO_SCRATCH_MAX_AGE
                )
                if removed:
                    logger.info("Removed %d scratch file(s) left by crashed runs", removed)
                removed = sweep_long_segments(
                    root=Path(settings.VAR_DIR) / "longvideo",
                    older_than=settings.STUDIO_LONG_SEGMENTS_MAX_AGE,
                )
                if removed:
                    logger.info("Removed %d long video(s)' stale saved segments", removed)
            except Exception:
                logger.exception("Sweeping scratch files failed")

    def execute_job(self, job, queue):
        super().execute_job(job, queue)
        # A job Redis interrupted went back to `queued`: enqueue it again at once (the
        # maintenance tasks reconcile) rather than at the next minute.
        if Generation.objects.filter(pk=job.id, status=Generation.Status.QUEUED).exists():
            self.last_cleaned_at = None

    @property
    def dequeue_timeout(self) -> int:
        # RQ blocks on the queue for minutes when idle, and maintenance (reconcile) only
        # runs between waits: wake every few seconds so it runs when due.
        return min(super().dequeue_timeout, DEQUEUE_WAIT)

    def _pubsub_exception_handler(self, exc, pubsub, pubsub_thread):
        if isinstance(exc, INFRASTRUCTURE_ERRORS):
            self.last_cleaned_at = None  # Redis went away: reconcile once it is back.
        return super()._pubsub_exception_handler(exc, pubsub, pubsub_thread)

    def heartbeat(self, *args, **kwargs):
        try:
            super().heartbeat(*args, **kwargs)
        except INFRASTRUCTURE_ERRORS:
            # Redis is away. RQ's loop retries; once Redis answers, reconcile at once: rows
            # submitted meanwhile, or released by a job Redis interrupted, need enqueueing.
            self.last_cleaned_at = None
            raise

    def set_shutdown_requested_date(self):
        # Runs in the SIGTERM handler, inside the job: Redis being away must not raise there.
        try:
            super().set_shutdown_requested_date()
        except INFRASTRUCTURE_ERRORS:
            logger.warning("Could not record the shutdown request in Redis")

    def handle_warm_shutdown_request(self):
        super().handle_warm_shutdown_request()
        grace = settings.STUDIO_STOP_GRACE
        if grace < 0 or threading.current_thread() is not threading.main_thread():
            return
        # RQ's cold shutdown (a second signal, at least a second later) stops the job; the
        # job puts itself back in the queue (studio.jobs.jobs.run_generation).
        timer = threading.Timer(max(grace, 1.1), os.kill, (os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()
