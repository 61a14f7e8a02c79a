"""The studio's RQ worker: no fork per job (engines stay warm) and reconciles the database."""

import logging
import os
import socket
import threading

from rq import SimpleWorker, Worker
from rq.registry import StartedJobRegistry
from rq.timeouts import TimerDeathPenalty

from studio.jobs.services import generation_reconcile

logger = logging.getLogger(__name__)


def _died_here(worker: Worker) -> bool:
    """Tell a crashed worker on this host from a live one before its Redis key expires."""
    if worker.hostname != socket.gethostname() or not worker.pid:
        return False
    try:
        os.kill(worker.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def reconcile(connection, queues) -> dict[str, int]:
    """Compare the database with Redis and the live workers; heal what drifted."""
    live = {w.name for w in Worker.all(connection=connection) if not _died_here(w)}
    known: set[str] = set()
    for queue in queues:
        known.update(queue.get_job_ids())
        known.update(StartedJobRegistry(queue=queue).get_job_ids())
    counts = generation_reconcile(live_workers=live, queued_job_ids=known)
    if any(counts.values()):
        logger.info("Reconciled generations: %s", counts)
    return counts


class StudioWorker(SimpleWorker):
    """Run jobs in this process so loaded pipelines serve the next job without reloading."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Reconcile runs with the maintenance tasks; once a minute keeps recovery prompt.
        self.maintenance_interval = min(self.maintenance_interval, 60)
        if threading.current_thread() is not threading.main_thread():
            self.death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        # Python only allows signal handlers in the main thread; embedded workers skip them.
        if threading.current_thread() is threading.main_thread():
            super()._install_signal_handlers()

    def bootstrap(self, *args, **kwargs):
        super().bootstrap(*args, **kwargs)
        try:
            reconcile(self.connection, self.queues)
        except Exception:
            logger.exception("Reconcile at start-up failed")

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        try:
            reconcile(self.connection, self.queues)
        except Exception:
            logger.exception("Periodic reconcile failed")
