"""Writes for the generation lifecycle: submit, claim, progress, outcome, cancel, reconcile,
and publishing or deleting the clip a run made."""

import hashlib
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Iterable
from pathlib import Path

import django_rq
import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.dispatch import Signal
from django.utils import timezone

from generation import provenance, video
from generation.spec import GenerationError, GenerationRequest, VideoResult
from studio import media
from studio.jobs import fairshare
from studio.jobs.engines import engine_info, engine_status
from studio.jobs.live import broadcast_generation
from studio.jobs.models import Clip, Generation, Prompt
from studio.jobs.provenance import clip_sign
from studio.jobs.quotas import quota_check
from studio.projects.models import Project
from studio.projects.services import project_touch
from studio.teams.models import Team

logger = logging.getLogger(__name__)

QUEUE = "default"
INPUTS_PREFIX = "inputs/"  # Uploaded inputs live under this storage prefix.
JOB_FUNCTION = "studio.jobs.jobs.run_generation"


def _enqueue(generation_id: str, *, at_once: bool = False) -> None:
    # `at_once` skips django-rq's wait for the surrounding transaction: for rows committed
    # long ago (a release from the fair-share wait), which a worker may run straight away.
    queue = django_rq.get_queue(QUEUE, commit_mode="auto" if at_once else None)
    queue.enqueue(JOB_FUNCTION, generation_id, job_id=generation_id)


def _requeue(generation_id: str) -> None:
    """Enqueue a run again under its id. RQ's record of the earlier run is dropped first:
    its key expires with that run's result and would take the new job with it."""
    queue = django_rq.get_queue(QUEUE)
    queue.connection.delete(queue.job_class.key_for(generation_id))
    _enqueue(generation_id)


def _enqueue_safely(generation_id: str, *, at_once: bool = False) -> None:
    """Enqueue a committed row; if Redis is away, reconcile enqueues it once Redis is back.

    Raising here would turn a recorded job into an error page (and a retried API call
    into a duplicate job).
    """
    try:
        if at_once:
            _enqueue(generation_id, at_once=True)
        else:
            _enqueue(generation_id)
    except Exception:
        logger.warning(
            "Could not enqueue %s; the worker's reconcile will", generation_id, exc_info=True
        )


def _enqueue_committed(generation_id: str, *, dispatched: bool = True) -> None:
    if dispatched:
        _enqueue_safely(generation_id)
    # Pages that have not shown this job yet (another member's, the API's) add its card.
    generation = Generation.objects.select_related("prompt").filter(pk=generation_id).first()
    if generation is not None:
        broadcast_generation(generation)


def generation_dispatch(*, team_id: int | None = None) -> list[str]:
    """Enqueue jobs waiting for their team's fair-share slot (see `studio.jobs.fairshare`).

    Called when a team's job finishes or is cancelled; without a team (reconcile), for
    every team with waiting jobs. Return the ids enqueued.
    """
    team_ids = [team_id] if team_id is not None else fairshare.teams_waiting()
    released = []
    for tid in team_ids:
        for pk in fairshare.release(tid):
            _enqueue_safely(pk, at_once=True)
            released.append(pk)
    return released


def generation_record_engine_time(*, generation_id: str, seconds: float) -> None:
    """Add a run's engine wall time to the row (a retried run adds its second attempt)."""
    Generation.objects.filter(pk=generation_id).update(
        engine_seconds=F("engine_seconds") + max(0.0, seconds)
    )


@transaction.atomic
def generation_submit(
    *,
    project: Project,
    user: User | None,
    engine_id: str,
    request: GenerationRequest,
    prompt: Prompt | None = None,
    notes: Iterable[str] = (),
    source_clip: Clip | None = None,
) -> Generation:
    """Validate against the engine and the team's quotas, record the run, and enqueue it
    once the row is committed (or, when its team's fair-share slots are taken, once one
    of its jobs finishes). Over a quota: QuotaExceeded, before anything is recorded."""
    info = engine_info(engine_id)
    if info is None:
        raise GenerationError(f"Engine {engine_id!r} is not available here.", field="engine")
    status = engine_status(engine_id)
    if status is not None and not status.ready:
        raise GenerationError(f"{info.label} cannot run here: {status.reason}.", field="engine")
    # Limits apply to what the user wrote, not to the preset phrases composed around it.
    checked = request.replace(prompt=prompt.text.strip()) if prompt is not None else request
    info.capabilities.validate(checked, engine_label=info.label)
    return generation_record(
        project=project,
        user=user,
        engine_id=engine_id,
        mode=request.mode,
        recipe=request.to_dict(),
        prompt=prompt,
        notes=notes,
        source_clip=source_clip,
    )


def generation_chains(generation: Generation) -> bool:
    """Whether the run is a long video made of chained segments (which can resume)."""
    return bool((generation.recipe.get("options") or {}).get("total_frames"))


def generation_saved_segments(generation: Generation) -> int:
    """How many finished segments of this recipe's chain are saved for a resume (0: none)."""
    import json

    from studio.jobs.jobs import _long_workdir  # jobs.py imports this module.

    if not generation_chains(generation):
        return 0
    try:
        meta = json.loads((_long_workdir(generation) / "segments" / "meta.json").read_text())
        return max(0, int(meta.get("count") or 0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0


# Sent (in the resume's transaction) with `generation` (the new run) and `resumed` (the
# failed one), so apps above jobs (a storyboard's takes) can follow a run to its resume.
generation_resumed = Signal()


@transaction.atomic
def generation_resume(*, generation: Generation, user: User | None) -> Generation:
    """Run a failed long video's recipe again (same seed): it resumes after the segments
    the failed attempt saved. A new run, under the team's quotas and fair share."""
    if not generation_chains(generation):
        raise GenerationError("Only a long video (chained segments) can be resumed.", code="mode")
    if generation.status != Generation.Status.FAILED:
        raise GenerationError("Only a failed job can be resumed.", code="active")
    done = generation_saved_segments(generation)
    note = f"Resumes the failed run {generation.pk}"
    note += f" after {done} finished segment(s)." if done else " (no finished segments saved)."
    new = generation_record(
        project=generation.project,
        user=user,
        engine_id=generation.engine,
        mode=generation.mode,
        recipe=generation.recipe,
        prompt=generation.prompt,
        notes=[note],
        source_clip=generation.source_clip,
    )
    generation_resumed.send(sender=Generation, generation=new, resumed=generation)
    return new


@transaction.atomic
def generation_record(
    *,
    project: Project,
    user: User | None,
    engine_id: str,
    mode: str,
    recipe: dict,
    prompt: Prompt | None = None,
    notes: Iterable[str] = (),
    source_clip: Clip | None = None,
) -> Generation:
    """Record a validated run under the team's quotas and fair share, and enqueue it once
    committed. Every way of starting a job (a prompt, a derived clip, a storyboard's
    export) comes through here."""
    # The team row is locked (on databases that can) so concurrent submits count each other.
    team = Team.objects.select_for_update().get(pk=project.team_id)
    quota_check(team=team)
    dispatched = fairshare.admit(team.pk)
    generation = Generation.objects.create(
        project=project,
        prompt=prompt,
        requested_by=user,
        engine=engine_id,
        mode=mode,
        recipe=recipe,
        notes=list(notes),
        source_clip=source_clip,
        dispatched_at=timezone.now() if dispatched else None,
    )
    project_touch(project_id=project.pk)
    pk = str(generation.pk)
    transaction.on_commit(lambda: _enqueue_committed(pk, dispatched=dispatched))
    return generation


def generation_claim(*, generation_id: str, worker: str) -> bool:
    """Move a queued row to running; a second claim (or a cancelled row) does nothing."""
    claimed = Generation.objects.filter(
        pk=generation_id, status=Generation.Status.QUEUED, cancel_requested=False
    ).update(
        status=Generation.Status.RUNNING,
        started_at=timezone.now(),
        worker=worker,
        attempts=F("attempts") + 1,
        step=0,
    )
    return claimed == 1


def generation_progress(*, generation_id: str, step: int, total: int) -> None:
    Generation.objects.filter(pk=generation_id, status=Generation.Status.RUNNING).update(
        step=step, total_steps=total
    )


def _finish(generation_id: str, status: str, **fields) -> bool:
    return (
        Generation.objects.filter(pk=generation_id, status=Generation.Status.RUNNING).update(
            status=status, finished_at=timezone.now(), **fields
        )
        == 1
    )


# An absolute path in a message (a file the engine could not read, a socket): users get
# its last part only; the server's layout stays private.
_QUOTED_PATH = re.compile(r"""(['"])/(?:[^'"\n]*/)?([^'"/\n]*)\1""")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/])/(?:[^\s'\"/]+/)+([^\s'\"/]*)")


def without_paths(message: str) -> str:
    """The message with each absolute path cut to its last part (`.../clip.mp4`)."""
    message = _QUOTED_PATH.sub(lambda m: f"{m.group(1)}.../{m.group(2)}{m.group(1)}", message)
    return _ABSOLUTE_PATH.sub(lambda m: f".../{m.group(1)}" if m.group(1) else "...", message)


def generation_fail(*, generation_id: str, error: str, code: str = "generation_error") -> bool:
    """Record a failure; its message (shown to users) names no server path."""
    return _finish(
        generation_id, Generation.Status.FAILED, error=without_paths(error), error_code=code
    )


def generation_release(*, generation_id: str, worker: str) -> bool:
    """Put a running row back in the queue with its attempt refunded.

    For interruptions by the studio's own plumbing (Redis away, the worker told to stop),
    which are neither the engine's nor the user's failure. The row is `queued` but not in
    Redis: reconcile enqueues it once Redis answers. A cancel asked for meanwhile wins.
    """
    running = Generation.objects.filter(
        pk=generation_id, status=Generation.Status.RUNNING, worker=worker
    )
    if running.filter(cancel_requested=True).update(
        status=Generation.Status.CANCELLED, finished_at=timezone.now(), error="Cancelled."
    ):
        return False
    return (
        running.update(
            status=Generation.Status.QUEUED,
            step=0,
            worker="",
            started_at=None,
            attempts=Greatest(F("attempts") - 1, 0),
        )
        == 1
    )


def generation_mark_cancelled(*, generation_id: str) -> bool:
    return _finish(generation_id, Generation.Status.CANCELLED, error="Cancelled.")


def generation_cancel(*, generation: Generation) -> Generation:
    """Cancel at once when queued; when running, ask the worker, which stops within one step."""
    updated = Generation.objects.filter(pk=generation.pk, status=Generation.Status.QUEUED).update(
        status=Generation.Status.CANCELLED,
        cancel_requested=True,
        finished_at=timezone.now(),
        error="Cancelled before it started.",
    )
    if updated:
        try:
            job = django_rq.get_queue(QUEUE).fetch_job(str(generation.pk))
            if job is not None:
                job.cancel()
        except Exception:  # Redis being away must not stop a cancel the database recorded.
            logger.warning("Could not remove job %s from the queue", generation.pk, exc_info=True)
        generation_dispatch(team_id=generation.project.team_id)  # Its slot is free.
    else:
        Generation.objects.filter(pk=generation.pk, status=Generation.Status.RUNNING).update(
            cancel_requested=True
        )
    generation.refresh_from_db()
    if generation.status == Generation.Status.CANCELLED:
        broadcast_generation(generation)  # A running job's worker sends its own final card.
    return generation


def generation_reconcile(*, live_workers: set[str], queued_job_ids: set[str]) -> dict[str, int]:
    """Re-enqueue dispatched rows Redis forgot; retry or fail running rows whose worker is
    gone; release waiting jobs into free fair-share slots."""
    counts = {"requeued": 0, "retried": 0, "failed": 0}
    dispatched = Generation.objects.filter(
        status=Generation.Status.QUEUED, dispatched_at__isnull=False
    )
    for pk in dispatched.values_list("pk", flat=True):
        if str(pk) not in queued_job_ids:
            _requeue(str(pk))
            counts["requeued"] += 1
    orphans = Generation.objects.filter(status=Generation.Status.RUNNING).exclude(
        worker__in=live_workers
    )
    for g in orphans:
        if g.attempts < settings.STUDIO_MAX_ATTEMPTS and not g.cancel_requested:
            if Generation.objects.filter(
                pk=g.pk, status=Generation.Status.RUNNING, worker=g.worker
            ).update(
                status=Generation.Status.QUEUED, step=0, worker="", dispatched_at=timezone.now()
            ):
                _requeue(str(g.pk))
                counts["retried"] += 1
        elif Generation.objects.filter(
            pk=g.pk, status=Generation.Status.RUNNING, worker=g.worker
        ).update(
            status=Generation.Status.FAILED,
            finished_at=timezone.now(),
            error_code="worker_lost",
            error=(
                f"The worker running this job stopped (after {g.attempts} attempt(s)). "
                "Try again; if it keeps happening, try a smaller size or fewer frames."
            ),
        ):
            counts["failed"] += 1
    # Slots freed by failed runs (or a release that never reached Redis) go to waiting jobs.
    if released := generation_dispatch():
        logger.info("Released %d job(s) waiting for their team's turn", len(released))
    return counts


CLIP_TMP_PREFIX = "studio-clip-"


def clip_tmp_prefix() -> str:
    """Name the encoder's scratch directory after this process, so a sweep after a crash
    can tell a dead worker's leftovers from a live job's (studio.jobs.worker)."""
    return f"{CLIP_TMP_PREFIX}{os.getpid()}-"


def clip_store(*, generation: Generation, result: VideoResult) -> Clip:
    """Encode and check the clip locally, publish its files to storage, then record the clip
    and the run's success together.

    Nothing half-written reaches storage: files are finished and checked (the MP4 decodes
    with every frame) in a local temporary directory first. If recording fails, the
    published files are removed again.
    """
    folder = f"clips/{generation.project_id}"
    with tempfile.TemporaryDirectory(prefix=clip_tmp_prefix()) as tmp:
        mp4, jpg, sprites = Path(tmp) / "clip.mp4", Path(tmp) / "poster.jpg", Path(tmp) / "s.jpg"
        recipe = dict(generation.recipe, engine=generation.engine, generation_id=str(generation.pk))
        frames = result.frames
        if Team.objects.filter(projects__pk=generation.project_id, ai_mark=True).exists():
            frames = provenance.mark_frames(frames)
        video.encode_mp4(frames, result.fps, mp4, metadata=video.recipe_metadata(recipe))
        video.write_poster(frames, jpg)
        video.write_spritesheet(frames, sprites)
        # Signed before it is published: no stored clip lacks its Content Credentials.
        credentials = clip_sign(generation=generation, mp4=mp4)
        info = video.probe(mp4)
        if info.num_frames != result.num_frames:
            raise GenerationError(
                f"The encoded clip has {info.num_frames} frames instead of {result.num_frames}."
            )
        # A name of its own per attempt: a retry racing a run that was thought lost must
        # never delete (or take the name of) the other's files.
        stem = f"{folder}/{generation.pk}-{secrets.token_hex(4)}"
        names: list[str] = []
        try:
            for local, name in (
                (mp4, f"{stem}.mp4"),
                (jpg, f"{stem}.jpg"),
                (sprites, f"{stem}-sprites.jpg"),
            ):
                names.append(media.publish(local, name))
        except BaseException:
            media.delete(*names)
            raise
    # Hash the frames in place (no copy), and before the write lock is taken.
    digest = hashlib.sha256(np.ascontiguousarray(result.frames)).hexdigest()
    try:
        with transaction.atomic():
            clip = Clip.objects.create(
                generation=generation,
                project_id=generation.project_id,
                file=names[0],
                poster=names[1],
                spritesheet=names[2],
                width=info.width,
                height=info.height,
                fps=result.fps,
                num_frames=info.num_frames,
                frames_sha256=digest,
                parent_clip_id=generation.source_clip_id,
                credentials=credentials.to_dict(),
            )
            Generation.objects.filter(pk=generation.pk).update(
                status=Generation.Status.SUCCEEDED,
                finished_at=timezone.now(),
                step=F("total_steps"),
                notes=list(generation.notes)
                + [n for n in result.notes if n not in generation.notes],
            )
    except BaseException:
        media.delete(*names)
        raise
    return clip


def clip_spritesheet(*, clip: Clip) -> str:
    """Return the storage name of the clip's frame grid, drawing it for clips made before it.

    Raise FileNotFoundError when the clip's video itself is gone.
    """
    if clip.spritesheet and media.exists(clip.spritesheet.name):
        return clip.spritesheet.name
    with media.local_copy(clip.file.name) as local, tempfile.TemporaryDirectory() as tmp:
        frames, _ = video.read_video(str(local))
        sheet = Path(tmp) / "sprites.jpg"
        video.write_spritesheet(frames, sheet)
        stem = clip.file.name.rsplit(".", 1)[0]
        # Its own name, so a concurrent request drawing it too never deletes this one.
        name = media.publish(sheet, f"{stem}-sprites-{secrets.token_hex(4)}.jpg")
    if Clip.objects.filter(pk=clip.pk, spritesheet=clip.spritesheet.name or "").update(
        spritesheet=name
    ):
        media.delete(clip.spritesheet.name)  # A recorded sheet whose file was gone, if any.
        clip.spritesheet.name = name
        return name
    media.delete(name)  # Another request recorded its sheet first; use that one.
    clip.refresh_from_db(fields=["spritesheet"])
    return clip.spritesheet.name


def _input_in_use(name: str) -> bool:
    return Generation.objects.filter(
        Q(recipe__image_path=name)
        | Q(recipe__last_image_path=name)
        | Q(recipe__video_path=name)
        | Q(prompt__image=name)
    ).exists()


def inputs_release(*, names: Iterable[str]) -> None:
    """Delete uploaded inputs (under `inputs/`) that no remaining run or prompt reads."""
    for name in names:
        if name.startswith(INPUTS_PREFIX) and not _input_in_use(name):
            media.delete(name)


def generation_delete(*, generation: Generation) -> None:
    """Delete a finished run with its clip; the clip's files and unused inputs go with it.

    Clips made from it keep their files; jobs still reading it must finish first. Files
    are removed by the post-delete handlers (`studio.jobs.signals`), so deleting from the
    admin or by cascade cleans up the same way.
    """
    if generation.is_active:
        raise GenerationError(
            "The video is still being made; cancel it and wait until it stops.", code="active"
        )
    clip = Clip.objects.filter(generation=generation).first()
    if clip is not None:
        waiting = Generation.objects.filter(source_clip=clip, status__in=Generation.ACTIVE).count()
        if waiting:
            raise GenerationError(
                f"{waiting} job(s) are still being made from this video; "
                "delete it once they finish.",
                code="in_use",
            )
    prompt = generation.prompt
    with transaction.atomic():
        generation.delete()
        if prompt is not None and not prompt.generation_set.exists():
            prompt.delete()
