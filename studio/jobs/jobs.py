"""RQ job functions. They orchestrate only: claim, run the engine, record the outcome."""

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import redis.exceptions
from django.conf import settings
from django.utils.module_loading import import_string
from rq import get_current_job

from generation.longvideo import generate_long
from generation.spec import Cancelled, GenerationError, GenerationRequest
from studio import media
from studio.jobs.engines import get_registry
from studio.jobs.live import broadcast_generation
from studio.jobs.models import INPUT_FIELDS, Generation
from studio.jobs.progress import JobProgress
from studio.jobs.services import (
    clip_store,
    generation_claim,
    generation_dispatch,
    generation_fail,
    generation_mark_cancelled,
    generation_record_engine_time,
    generation_release,
)

logger = logging.getLogger(__name__)

# The studio's own plumbing failing, never the engine's or the user's fault: the job goes
# back to the queue with its attempt refunded and runs again once Redis is back.
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def is_infrastructure_error(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from or while handling, is Redis away."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, INFRASTRUCTURE_ERRORS):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


MODE_RUNNERS = {"edit": "studio.storyboards.jobs.run_export"}
"""Modes another app runs through this same lifecycle: claimed here, run by
`runner(generation, progress)`, which stores the clip; failures are recorded here."""


def _worker_name() -> str:
    job = get_current_job()
    return (job.worker_name if job else None) or "inline"


@contextmanager
def local_inputs(request: GenerationRequest) -> Iterator[GenerationRequest]:
    """The request with its input files as local paths, the engine's edge with storage.

    The recipe names inputs in media storage; the engine reads local files. Copies made
    for remote storage are removed when the run ends.
    """
    with ExitStack() as stack:
        local: dict[str, str] = {}
        for field, label in INPUT_FIELDS.items():
            name = getattr(request, field)
            if not name:
                continue
            try:
                local[field] = str(stack.enter_context(media.local_copy(name)))
            except FileNotFoundError:
                raise GenerationError(
                    f"The {label} this job reads is gone; it was deleted.",
                    field=field,
                    code="input_missing",
                ) from None
        yield request.replace(**local)


def _long_workdir(generation: Generation) -> Path:
    """Where a chained long video keeps finished segments between attempts.

    Named by the recipe, not the run: a retry, and a new run of the same recipe (the same
    prompt and seed submitted again after a failure), resume after the saved segments.
    """
    recipe = json.dumps([generation.engine, generation.recipe], sort_keys=True, default=str)
    return Path(settings.VAR_DIR) / "longvideo" / hashlib.sha256(recipe.encode()).hexdigest()[:32]


def _generate(engine, request: GenerationRequest, generation: Generation):
    """One pass, or a chain of segments when the recipe asks for more (`total_frames`)."""
    total = request.options.get("total_frames")
    if not total:
        return engine.generate(request, JobProgress(generation))
    return generate_long(
        engine,
        request,
        total_frames=int(total),
        progress=JobProgress(generation),
        workdir=_long_workdir(generation),
    )


def run_generation(generation_id: str) -> str:
    worker = _worker_name()
    if not generation_claim(generation_id=generation_id, worker=worker):
        return "skipped"
    generation = Generation.objects.select_related("project").get(pk=generation_id)
    team_id = generation.project.team_id  # Known now: the project may be deleted meanwhile.
    broadcast_generation(generation)
    try:
        if runner := MODE_RUNNERS.get(generation.mode):
            started = time.monotonic()
            try:
                import_string(runner)(generation, JobProgress(generation))
            finally:
                generation_record_engine_time(
                    generation_id=generation_id, seconds=time.monotonic() - started
                )
        else:
            engine = get_registry().get(generation.engine)
            with local_inputs(GenerationRequest.from_dict(generation.recipe)) as request:
                started = time.monotonic()
                try:
                    result = _generate(engine, request, generation)
                finally:  # Failed and cancelled runs used the engine too.
                    generation_record_engine_time(
                        generation_id=generation_id, seconds=time.monotonic() - started
                    )
            clip_store(generation=generation, result=result)
            shutil.rmtree(_long_workdir(generation), ignore_errors=True)
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
        if is_infrastructure_error(e):
            logger.warning("Generation %s interrupted by Redis; it will run again", generation_id)
            generation_release(generation_id=generation_id, worker=worker)
        else:
            logger.exception("Generation %s failed", generation_id)
            generation_fail(
                generation_id=generation_id,
                code="engine_error",
                error=f"The engine failed: {type(e).__name__}: {e}"[:1000],
            )
    except BaseException:
        # The worker is stopping now (a second Ctrl-C, supervisord's stop): not a failure.
        logger.warning("Generation %s interrupted by a shutdown; it will run again", generation_id)
        generation_release(generation_id=generation_id, worker=worker)
        raise
    generation_dispatch(team_id=team_id)  # The next job of this team.
    generation.refresh_from_db()
    broadcast_generation(generation)
    return generation.status
