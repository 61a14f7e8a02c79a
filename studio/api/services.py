"""Translate /v1 calls into the studio's own services: one pipeline for the UI and the API."""

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q

from generation.prompting import ASPECT_RATIOS, size_for
from generation.spec import MODE_LABELS, GenerationError
from studio import media
from studio.gallery.services import clip_derive, clip_remix
from studio.jobs.engines import EngineInfo, available_engines, engine_info, engine_status
from studio.jobs.models import Clip, Generation
from studio.jobs.quotas import QuotaExceeded
from studio.jobs.recipes import SourceVideo, build_derived_request, error_field
from studio.jobs.services import generation_cancel, generation_delete, generation_submit
from studio.moderation.services import prompt_policy_check
from studio.projects.models import Project
from studio.projects.services import project_create
from studio.prompts.services import prompt_submit
from studio.prompts.validators import validate_image_upload
from studio.teams.models import Team
from studio.throttle import redis_client

from .auth import Caller
from .errors import ApiError
from .presenters import parse_video_id
from .schemas import CreateVideo, DeriveVideo, EditVideo, ExtendVideo, ListQuery, RemixVideo

logger = logging.getLogger(__name__)

API_PROJECT_NAME = "API"


def bad_request(error: GenerationError) -> ApiError:
    if isinstance(error, QuotaExceeded):  # Over a team quota: retry later, not a bad request.
        return ApiError(429, error.message, code=error.code)
    param = error_field(error, "api")
    code = error.code
    if code == GenerationError.code:
        code = f"invalid_{param}" if param else "invalid_request"
    return ApiError(400, error.message, param=param, code=code)


def _engines_with(mode: str) -> str:
    ids = [e.id for e in available_engines(modes={mode})]
    return ", ".join(ids) if ids else "none is configured here"


def engine_for(model: str, *, mode: str) -> EngineInfo:
    """The engine a `model` names, checked for `mode`; errors list the engines that fit."""
    info = engine_info(model) if model else None
    status = engine_status(model) if model else None
    if status is not None and not status.ready:
        raise ApiError(
            400,
            f"Model {model!r} cannot run here: {status.reason}. Models here that can do "
            f"{MODE_LABELS[mode].lower()}: {_engines_with(mode)}.",
            param="model",
            code="model_not_found",
        )
    if info is None:
        raise ApiError(
            400,
            f"Unknown model {model!r}. Models here that can do "
            f"{MODE_LABELS[mode].lower()}: {_engines_with(mode)}.",
            param="model",
            code="model_not_found",
        )
    if mode not in info.capabilities.modes:
        raise ApiError(
            400,
            f"Model {model!r} ({info.label}) cannot do {MODE_LABELS[mode].lower()}. "
            f"Models here that can: {_engines_with(mode)}.",
            param="model",
            code="unsupported_mode",
        )
    return info


def _engines_taking(control: str) -> str:
    ids = [e.id for e in available_engines() if getattr(e, f"default_{control}") is not None]
    return ", ".join(ids) if ids else "none is configured here"


def check_controls(info: EngineInfo, controls: dict) -> None:
    """Refuse guidance or a motion amount for an engine that has no such control.

    The form hides those fields for such engines; a caller asking for one should know it
    would be ignored, and which engines would take it.
    """
    for control, name in (("guidance", "a guidance scale"), ("motion_amount", "a motion amount")):
        if controls.get(control) is not None and getattr(info, f"default_{control}") is None:
            raise ApiError(
                400,
                f"Model {info.id!r} has no {name.removeprefix('a ')}. "
                f"Models here that take {name}: {_engines_taking(control)}.",
                param=control,
                code="unsupported_parameter",
            )


def caller_project(caller: Caller, wanted: int | None) -> Project:
    """Where new videos go: the key's project, a `project_id` in its team, or the team's API project."""
    if caller.key.project_id:
        project = caller.projects().first()
        if project is None or (wanted and wanted != project.pk):
            raise ApiError(
                404,
                f"No project {wanted or caller.key.project_id} for this key.",
                param="project_id",
                code="not_found",
            )
        return project
    if wanted:
        project = caller.projects().filter(pk=wanted).first()
        if project is None:
            raise ApiError(
                404,
                f"No project {wanted} in this key's team.",
                param="project_id",
                code="not_found",
            )
        return project
    api_projects = Project.objects.filter(
        team_id=caller.key.team_id, name=API_PROJECT_NAME
    ).order_by("pk")
    project = api_projects.first()  # A plain read: on SQLite a lock would serialise creates.
    if project is not None:
        return project
    with transaction.atomic():
        # Lock the team row so two first calls at once make one API project, not two.
        Team.objects.select_for_update().filter(pk=caller.key.team_id).first()
        return api_projects.first() or project_create(
            team=caller.key.team, name=API_PROJECT_NAME, user=caller.user
        )


def visible_generation(caller: Caller, video_id: str, *, param: str | None = None) -> Generation:
    """A generation the key may see, or 404 (another team's id is simply not found)."""
    pk = parse_video_id(video_id, param=param)
    generation = (
        Generation.objects.shown_to(caller.user)
        .select_related("prompt", "source_clip", "clip", "project")
        .filter(pk=pk, project__in=caller.projects())
        .first()
    )
    if generation is None:
        raise ApiError(
            404, f"No video found with id {video_id!r}.", param=param, code="video_not_found"
        )
    return generation


def completed_clip(generation: Generation, *, param: str | None = None) -> Clip:
    clip = getattr(generation, "clip", None)  # Loaded with the generation; None until done.
    if generation.status != Generation.Status.SUCCEEDED or clip is None:
        raise ApiError(
            400,
            f"The video is {generation.get_status_display().lower()} "
            f"({generation.percent}%); only a completed video can be used here.",
            param=param,
            code="video_not_ready",
        )
    return clip


def _suggest_size(width: int, height: int, info: EngineInfo) -> str:
    caps = info.capabilities
    return f"{caps.fit_size(width)}x{caps.fit_size(height)}"


def _nearest_aspect(width: int, height: int) -> str:
    return min(
        ASPECT_RATIOS, key=lambda a: abs(ASPECT_RATIOS[a][0] / ASPECT_RATIOS[a][1] - width / height)
    )


def _check_image(upload) -> None:
    try:
        validate_image_upload(upload)
    except ValidationError as exc:
        status = 413 if upload.size > settings.STUDIO_MAX_UPLOAD_BYTES else 400
        raise ApiError(status, " ".join(exc.messages), param="input_reference") from None


def video_create(*, caller: Caller, body: CreateVideo) -> Generation:
    """Queue a video; the engine checks what depends on it (size, frames, fps, steps)."""
    caller.require("editor")
    image = body.image
    mode = "image_to_video" if image is not None else "text_to_video"
    info = engine_for(body.model or settings.STUDIO_DEFAULT_ENGINE, mode=mode)
    caps = info.capabilities
    width, height = body.dimensions or size_for("16:9", long_side=512, multiple=caps.size_multiple)
    fields = {
        "text": body.prompt,
        "negative_text": body.negative_prompt,
        "camera_motion": body.camera_motion,
        "style_preset": body.style or "",
        "aspect_ratio": _nearest_aspect(width, height),
        "resolution": max(width, height),
        "width": width,
        "height": height,
        "duration_s": body.seconds,
        "fps": body.fps or caps.default_fps,
        "seed": body.seed,
        "steps": body.steps,
        "camera_speed": body.camera_speed,
        "guidance": body.guidance,
        "motion_amount": body.motion_amount,
        "engine": info.id,
    }
    check_controls(info, fields)
    if image is not None:
        _check_image(image)
        fields["image"] = image
    project = caller_project(caller, body.project_id)
    try:
        return prompt_submit(project=project, user=caller.user, data=fields)
    except GenerationError as e:
        error = bad_request(e)
        if e.field in ("width", "height"):
            error.message += f" Try size {_suggest_size(width, height, info)}."
        raise error from None


def video_remix(*, caller: Caller, source: Generation, body: RemixVideo) -> Generation:
    """Remix a completed video; the creative controls given replace the source's."""
    caller.require("editor")
    clip = completed_clip(source)
    info = engine_info(source.engine)
    if info is not None:  # clip_remix says when the engine is gone.
        check_controls(info, body.controls)
    try:
        return clip_remix(clip=clip, user=caller.user, text=body.prompt, **body.controls)
    except GenerationError as e:
        error = bad_request(e)
        if e.code == "not_remixable" and source.source_clip_id:
            error.message += f" (video_{source.source_clip.generation_id.hex})"
        raise error from None


def _stored_upload(upload, project: Project) -> str:
    """Keep an uploaded source video in media storage, where the worker can read it.

    Return its storage name. Django has the upload on disk already: local storage moves
    that file, nothing here reads it again.
    """
    if upload.size > settings.STUDIO_MAX_UPLOAD_BYTES:
        mb = settings.STUDIO_MAX_UPLOAD_BYTES // (1024 * 1024)
        raise ApiError(413, f"The video is larger than {mb} MB.", param="video")
    suffix = Path(upload.name or "").suffix.lower()[:8] or ".mp4"
    return default_storage.save(f"inputs/api/{project.pk}/{uuid.uuid4().hex}{suffix}", upload)


def _clip_of_upload(caller: Caller, source: SourceVideo, name: str) -> Clip | None:
    """The caller's own clip when the upload (stored as `name`) is that clip's file, byte for
    byte (lineage kept).

    Our MP4s carry their generation id in the recipe tags; the same size and SHA-256 prove
    the file unchanged. Only such an upload is hashed: any other is not read again here
    (hashing each 50 MB upload in the request was CPU that other requests waited for).
    """
    try:
        generation_id = uuid.UUID(str(source.recipe.get("generation_id")))
    except ValueError:
        return None  # Not one of ours, or tags someone edited.
    clip = (
        Clip.objects.shown_to(caller.user)
        .select_related("generation", "project")
        .filter(generation_id=generation_id, project__in=caller.projects())
        .first()
    )
    if clip is None:
        return None
    try:
        if clip.file.size != default_storage.size(name):
            return None
        return clip if media.sha256(clip.file.name) == media.sha256(name) else None
    except OSError:
        return None


def _derive(*, caller: Caller, body: DeriveVideo, mode: str, **options) -> Generation:
    caller.require("editor")
    model = body.model or None
    if body.video_id is not None:
        source = visible_generation(caller, body.video_id, param="video")
        clip = completed_clip(source, param="video")
        return _derive_from(clip, caller=caller, model=model, mode=mode, **options)
    upload = body.upload
    project = caller_project(caller, body.project_id)
    name = _stored_upload(upload, project)
    keep = False
    try:
        try:
            target = SourceVideo.of_file(name)
        except GenerationError as e:
            message = e.message.replace(Path(name).name, upload.name or "The upload")
            raise ApiError(400, message, param="video") from None
        clip = _clip_of_upload(caller, target, name)
        if clip is not None:
            return _derive_from(clip, caller=caller, model=model, mode=mode, **options)
        generation = _derive_from(
            target, caller=caller, model=model, mode=mode, project=project, **options
        )
        keep = True
        return generation
    finally:
        if not keep:
            media.delete(name)


def _derive_from(
    target: Clip | SourceVideo,
    *,
    caller: Caller,
    model: str | None,
    mode: str,
    project: Project | None = None,
    **options,
) -> Generation:
    try:
        info, request, notes = build_derived_request(target, mode=mode, engine_id=model, **options)
        if isinstance(target, Clip):  # clip_derive checks the prompt against the policy.
            return clip_derive(
                clip=target, user=caller.user, engine_id=info.id, request=request, notes=notes
            )
        prompt_policy_check(
            user=caller.user,
            project=project,
            prompt=request.prompt,
            negative_prompt=request.negative_prompt or "",
        )
        return generation_submit(
            project=project, user=caller.user, engine_id=info.id, request=request, notes=notes
        )
    except GenerationError as e:
        raise bad_request(e) from None


def video_extend(*, caller: Caller, body: ExtendVideo) -> Generation:
    return _derive(
        caller=caller,
        body=body,
        mode=f"extend_{body.direction}",
        prompt=body.prompt,
        seconds=body.seconds,
    )


def video_edit(*, caller: Caller, body: EditVideo) -> Generation:
    return _derive(
        caller=caller,
        body=body,
        mode="video_to_video",
        prompt=body.prompt,
        strength=body.strength,
    )


def video_delete(*, caller: Caller, generation: Generation) -> None:
    """Delete a finished video; a queued one is cancelled first, a running one is asked to stop."""
    caller.require("editor")
    if generation.is_active:
        generation = generation_cancel(generation=generation)
    if generation.is_active:
        raise ApiError(
            400,
            "The video is rendering; it was asked to stop and will within one step. "
            "Delete it again once it has stopped.",
            code="video_in_progress",
        )
    _remember_deleted(generation)  # Harmless if the delete fails: live rows win.
    try:
        generation_delete(generation=generation)
    except GenerationError as e:
        raise bad_request(e) from None


TOMBSTONE_TTL_S = 24 * 3600


def _tombstone_key(pk) -> str:
    return f"studio:api:deleted:{uuid.UUID(str(pk)).hex}"


def _remember_deleted(generation: Generation) -> None:
    """Keep a deleted video's place in the list for a day, so cursors pointing at it work.

    The SDK pages with the last id it saw; a client deleting as it iterates needs it.
    """
    place = {"queued_at": generation.queued_at.isoformat(), "project_id": generation.project_id}
    try:
        redis_client().set(_tombstone_key(generation.pk), json.dumps(place), ex=TOMBSTONE_TTL_S)
    except Exception:
        logger.warning("Could not record the list position of a deleted video", exc_info=True)


def list_cursor(caller: Caller, after: str) -> tuple[datetime, uuid.UUID]:
    """The (queued_at, id) position of `after`: a visible video, or one deleted recently."""
    pk = parse_video_id(after, param="after")
    found = (
        Generation.objects.shown_to(caller.user)
        .filter(pk=pk, project__in=caller.projects())
        .values_list("queued_at", flat=True)
        .first()
    )
    if found is not None:
        return found, pk
    try:
        raw = redis_client().get(_tombstone_key(pk))
    except Exception:
        raw = None
    if raw:
        place = json.loads(raw)
        if caller.projects().filter(pk=place["project_id"]).exists():
            return datetime.fromisoformat(place["queued_at"]), pk
    raise ApiError(404, f"No video found with id {after!r}.", param="after", code="video_not_found")


MERGE_PROJECTS = 50
"""Up to this many projects, a team key's page is merged from each project's own index."""


def _keyset(keys, after, order: str):
    """`keys` after the cursor, in the list's order (slice it to the page)."""
    if after:
        queued_at, pk = after
        # A range plus excluding the tie keeps to the index (an OR of two ranges would not).
        if order == "desc":
            keys = keys.filter(queued_at__lte=queued_at).exclude(queued_at=queued_at, pk__gte=pk)
        else:
            keys = keys.filter(queued_at__gte=queued_at).exclude(queued_at=queued_at, pk__lte=pk)
    sort = ("-queued_at", "-id") if order == "desc" else ("queued_at", "id")
    return keys.order_by(*sort)


def video_page(*, caller: Caller, query: ListQuery) -> tuple[list[Generation], bool]:
    """A page of the caller's videos by creation time, and whether more follow it.

    Keyset over the (project, queued_at, id) index: a project key walks its project's; a
    team key walks each of its projects' and one query merges them (one walk of the
    (queued_at, id) index past MERGE_PROJECTS projects). The page's ids are picked on the
    indexes first, then only those rows are joined, so the cost stays flat however many
    videos the team holds.
    """
    visible = Generation.objects.shown_to(caller.user)
    after = list_cursor(caller, query.after) if query.after else None
    if caller.key.project_id:
        project_ids = [caller.key.project_id]
    else:
        project_ids = list(
            Project.objects.filter(team_id=caller.key.team_id).values_list("pk", flat=True)
        )
    if len(project_ids) > MERGE_PROJECTS:
        team = visible.filter(project__team_id=caller.key.team_id)
        pairs = list(
            _keyset(team, after, query.order).values_list("queued_at", "id")[: query.limit + 1]
        )
    elif project_ids:
        # Each project's next page, picked on its own index (a small IN subquery each); the
        # union of those few rows is sorted once.
        picked = Q()
        for pid in project_ids:
            part = _keyset(visible.filter(project_id=pid), after, query.order)
            picked |= Q(pk__in=part.values("id")[: query.limit + 1])
        sort = ("-queued_at", "-id") if query.order == "desc" else ("queued_at", "id")
        merged = Generation.objects.filter(picked).order_by(*sort)
        pairs = list(merged.values_list("queued_at", "id")[: query.limit + 1])
    else:
        pairs = []
    ids = [pk for _, pk in pairs]
    rows = Generation.objects.filter(pk__in=ids[: query.limit]).select_related(
        "prompt", "source_clip", "clip"
    )
    by_id = {g.pk: g for g in rows}
    return [by_id[pk] for pk in ids[: query.limit] if pk in by_id], len(ids) > query.limit


IDEMPOTENCY_TTL_S = 24 * 3600


def idempotent(caller: Caller, token: str, make: Callable[[], Generation]) -> Generation:
    """Run `make` once per key and `Idempotency-Key`; a retry gets the first result.

    A timed-out create that the client retries must not start a second job.
    """
    token = token.strip()
    if not token:
        return make()
    slot = f"studio:api:idem:{caller.key.pk}:{hashlib.sha256(token.encode()).hexdigest()}"
    try:
        conn = redis_client()
        claimed = conn.set(slot, "pending", nx=True, ex=IDEMPOTENCY_TTL_S)
    except Exception:
        logger.warning("Idempotency is off: Redis did not answer", exc_info=True)
        return make()
    if not claimed:
        first = conn.get(slot)
        if first in (None, b"pending"):
            raise ApiError(
                409,
                "A request with this Idempotency-Key is still being handled; retry shortly.",
                code="idempotency_key_in_use",
            )
        return visible_generation(caller, first.decode())
    try:
        generation = make()
    except BaseException:
        conn.delete(slot)
        raise
    conn.set(slot, str(generation.pk), ex=IDEMPOTENCY_TTL_S)
    return generation
