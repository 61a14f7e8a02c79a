"""The studio's RQ worker: no fork per job (engines stay warm) and reconciles the database."""

import logging

from rq import SimpleWorker, Worker
from rq.registry import StartedJobRegistry

from studio.jobs.services import generation_reconcile

logger = logging.getLogger(__name__)


def reconcile(connection, queues) -> dict[str, int]:
    """Compare the database with Redis and the live workers; heal what drifted."""
    live = {w.name for w in Worker.all(connection=connection)}
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
