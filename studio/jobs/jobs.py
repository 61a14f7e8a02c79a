"""RQ job functions. They orchestrate only: claim, run the engine, record the outcome."""

import logging

from rq import get_current_job

from generation.spec import Cancelled, GenerationError, GenerationRequest
from studio.jobs.engines import get_registry
from studio.jobs.live import broadcast_generation
from studio.jobs.models import Generation
from studio.jobs.progress import JobProgress
from studio.jobs.services import (
    clip_store,
    generation_claim,
    generation_fail,
    generation_mark_cancelled,
)

logger = logging.getLogger(__name__)


def _worker_name() -> str:
    job = get_current_job()
    return (job.worker_name if job else None) or "inline"


def run_generation(generation_id: str) -> str:
    if not generation_claim(generation_id=generation_id, worker=_worker_name()):
        return "skipped"
    generation = Generation.objects.get(pk=generation_id)
    broadcast_generation(generation)
    try:
        request = GenerationRequest.from_dict(generation.recipe)
        engine = get_registry().get(generation.engine)
        result = engine.generate(request, JobProgress(generation))
        clip_store(generation=generation, result=result)
    except Cancelled:
        generation_mark_cancelled(generation_id=generation_id)
    except GenerationError as e:  # OutOfMemory included: its message suggests what fits.
        generation_fail(generation_id=generation_id, error=str(e), code=e.code)
    except MemoryError:
        generation_fail(
            generation_id=generation_id,
            code="out_of_memory",
            error="The worker ran out of memory. Try a smaller size or fewer frames.",
        )
    except Exception as e:
        logger.exception("Generation %s failed", generation_id)
        generation_fail(
            generation_id=generation_id,
            code="engine_error",
            error=f"The engine failed: {type(e).__name__}: {e}"[:1000],
        )
    generation.refresh_from_db()
    broadcast_generation(generation)
    return generation.status
