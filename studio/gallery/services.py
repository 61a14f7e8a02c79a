"""Writes that make new clips from a clip (transformations, remixes) and the gallery's pages."""

import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet

from generation.spec import GenerationError, GenerationRequest
from studio import media
from studio.jobs.engines import engine_info
from studio.jobs.models import Clip, Generation, Prompt
from studio.jobs.recipes import engine_prompt, with_intent_options
from studio.jobs.services import generation_submit
from studio.moderation.services import prompt_policy_check


def clip_derive(
    *, clip: Clip, user: User, engine_id: str, request: GenerationRequest, notes: list[str]
) -> Generation:
    """Submit a transformation of `clip`; the clip it makes records `clip` as its parent."""
    if request.mode in PROMPTED_DERIVES:
        prompt_policy_check(
            user=user,
            project=clip.project,
            prompt=request.prompt,
            negative_prompt=request.negative_prompt or "",
        )
    return generation_submit(
        project=clip.project,
        user=user,
        engine_id=engine_id,
        request=request,
        notes=notes,
        source_clip=clip,
    )


REMIXABLE = ("text_to_video", "image_to_video")
PROMPTED_DERIVES = ("extend_forward", "extend_backward", "video_to_video")
"""Transformations that read a prompt (others carry the source's prompt along unused)."""


def clip_remix(
    *,
    clip: Clip,
    user: User,
    text: str,
    camera_speed: str | None = None,
    guidance: float | None = None,
    motion_amount: int | None = None,
) -> Generation:
    """Check the new prompt against the policy (outside the transaction, so a blocked
    attempt stays logged), then remix. Controls given replace the source's; None keeps it."""
    original = clip.generation.prompt
    prompt_policy_check(
        user=user,
        project=clip.project,
        prompt=text,
        negative_prompt=original.negative_text if original else "",
    )
    return _clip_remix(
        clip=clip,
        user=user,
        text=text,
        controls=RemixControls(
            camera_speed=camera_speed, guidance=guidance, motion_amount=motion_amount
        ),
    )


@dataclass(frozen=True)
class RemixControls:
    """A remix's creative controls (the source's where not given): an intent for
    `with_intent_options`."""

    camera_speed: str | None = None
    guidance: float | None = None
    motion_amount: int | None = None


@transaction.atomic
def _clip_remix(*, clip: Clip, user: User, text: str, controls: RemixControls) -> Generation:
    """Re-run the clip's recipe, seed and camera included, with a new prompt.

    The recipe, not the (editable) Prompt row, is what made the clip, so it is the base.
    A Prompt row records the new intent, so the remix reads like any other prompt.
    """
    source = clip.generation
    if source.mode not in REMIXABLE:
        raise GenerationError(
            f"Remix re-runs a prompt, and this clip was made by {source.mode_label.lower()}. "
            "Remix the clip it came from instead.",
            field="video_path",
            code="not_remixable",
        )
    info = engine_info(source.engine)
    if info is None:
        raise GenerationError(
            f"The engine that made this clip ({source.engine}) is not available here.",
            field="engine",
        )
    text = text.strip()
    request = GenerationRequest.from_dict(source.recipe)
    if request.image_path and not media.exists(request.image_path):
        raise GenerationError(
            "The image this clip started from is gone, so it cannot be remixed.",
            field="image_path",
        )
    original = source.prompt
    # The source's controls (its recipe's guidance, its prompt's speed and motion) where
    # the remix does not change them.
    resolved = RemixControls(
        camera_speed=controls.camera_speed or (original.camera_speed if original else "normal"),
        guidance=controls.guidance if controls.guidance is not None else request.guidance,
        motion_amount=(
            controls.motion_amount
            if controls.motion_amount is not None
            else (original.motion_amount if original else None)
        ),
    )
    speed = resolved.camera_speed or "normal"
    request = with_intent_options(info, request, resolved).replace(
        prompt=engine_prompt(
            info, text, camera_motion=request.camera_motion, style=request.style, camera_speed=speed
        )
    )
    prompt = Prompt.objects.create(
        project=clip.project,
        author=user,
        mode=request.mode,
        text=text,
        negative_text=original.negative_text if original else "",
        camera_motion=request.camera_motion,
        style_preset=request.style,
        aspect_ratio=original.aspect_ratio if original else "16:9",
        resolution=max(request.width, request.height),
        width=request.width,
        height=request.height,
        duration_s=request.duration_s,
        fps=request.fps,
        seed=request.seed,
        steps=request.steps,
        guidance=request.guidance,
        camera_speed=speed,
        motion_amount=resolved.motion_amount,
        engine=source.engine,
        image=original.image.name if original and original.image else "",
    )
    return generation_submit(
        project=clip.project,
        user=user,
        engine_id=source.engine,
        request=request,
        prompt=prompt,
        notes=[f"Remix of clip {clip.pk}: its recipe and seed with a new prompt."],
        source_clip=clip,
    )


GALLERY_PAGE_SIZE = 12


class BadCursor(ValueError):
    """A gallery position that does not parse; the view answers 400 with its message."""


@dataclass(frozen=True)
class GalleryPage:
    clips: list[Clip]
    next_cursor: str | None  # Where the next page starts; None on the last page.


def gallery_cursor_for(clip: Clip) -> str:
    """The position just after `clip` in newest-first order: its creation time and id."""
    return f"{clip.created_at.astimezone(UTC).strftime(CURSOR_TIME)}-{clip.pk}"


CURSOR_TIME = "%Y%m%dT%H%M%S.%f"


def _parse_cursor(cursor: str) -> tuple[datetime, int]:
    stamp, _, pk = cursor.rpartition("-")
    try:
        return datetime.strptime(stamp, CURSOR_TIME).replace(tzinfo=UTC), int(pk)
    except ValueError:
        raise BadCursor(
            f"{cursor!r} is not a gallery position; reload the page to start from the newest clips."
        ) from None


def gallery_page(
    clips: QuerySet[Clip],
    *,
    after: str | None = None,
    size: int = GALLERY_PAGE_SIZE,
    sort: str = "newest",
) -> GalleryPage:
    """A page of `clips` (already filtered by the caller), newest (or oldest) first, after
    the `after` cursor.

    Keyset pagination over the (project, created_at, id) index: the cost of a page does not
    grow with how deep it is or how many clips the project holds. The page's ids are picked
    first on the index alone, then only those rows are joined with their generation and
    prompt (whose recipe JSON would otherwise be carried through the sort).
    """
    keys = clips.order_by(*SORTS[sort])
    if after:
        at, pk = _parse_cursor(after)
        # `<=` then excluding the tie keeps a plain index range (an OR would not).
        if sort == "oldest":
            keys = keys.filter(created_at__gte=at).exclude(created_at=at, pk__lte=pk)
        else:
            keys = keys.filter(created_at__lte=at).exclude(created_at=at, pk__gte=pk)
    ids = list(keys.values_list("pk", flat=True)[: size + 1])
    rows = Clip.objects.filter(pk__in=ids[:size]).select_related(
        "generation__prompt", "generation__requested_by"
    )
    by_id = {c.pk: c for c in rows}
    page = [by_id[pk] for pk in ids[:size] if pk in by_id]
    more = len(ids) > size and bool(page)
    return GalleryPage(clips=page, next_cursor=gallery_cursor_for(page[-1]) if more else None)


THUMBNAIL_WIDTH = 320


def clip_thumbnail(*, clip: Clip) -> str:
    """The clip's poster shrunk to THUMBNAIL_WIDTH for gallery cards; return its storage name.

    Drawn on first request and stored beside the poster, so clips made before thumbnails
    existed get one too. Two first requests at once may both draw it; the storage keeps
    both (never overwriting), and either is the same picture.
    """
    name = clip.thumbnail_name
    if media.exists(name):
        return name
    from PIL import Image

    with media.local_copy(clip.poster.name) as poster, tempfile.TemporaryDirectory() as tmp:
        image = Image.open(poster).convert("RGB")
        if image.width > THUMBNAIL_WIDTH:
            height = max(1, round(image.height * THUMBNAIL_WIDTH / image.width))
            image = image.resize((THUMBNAIL_WIDTH, height), Image.Resampling.LANCZOS)
        out = Path(tmp) / "thumb.jpg"
        image.save(out, format="JPEG", quality=80, optimize=True, progressive=True)
        return media.publish(out, name)


def clip_favourite(*, clip: Clip, favourite: bool) -> Clip:
    """Star or unstar the keeper among variants."""
    clip.favourite = favourite
    clip.save(update_fields=["favourite"])
    return clip


def clip_rename(*, clip: Clip, title: str) -> Clip:
    """Give the clip a title; blank shows its prompt again."""
    clip.title = " ".join(title.split())[:120]
    clip.save(update_fields=["title"])
    return clip


def generation_dismiss(*, generation: Generation) -> Generation:
    """Put a failed or cancelled card away; its row (and the API's view of it) stays."""
    if generation.status not in (Generation.Status.FAILED, Generation.Status.CANCELLED):
        raise GenerationError("Only failed or cancelled jobs can be dismissed.", code="active")
    generation.dismissed = True
    generation.save(update_fields=["dismissed"])
    return generation


FRAMES = ("first", "last")


def clip_frame_store(*, clip: Clip, which: str) -> str:
    """Save the clip's first or last frame as a PNG input image; return its storage name."""
    import io
    import uuid

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    from generation import video

    if which not in FRAMES:
        raise GenerationError("Choose the first or the last frame.", field="image_path")
    with media.local_copy(clip.file.name) as local:
        frames, _ = video.read_video(str(local), max_frames=1 if which == "first" else None)
    buf = io.BytesIO()
    Image.fromarray(frames[0 if which == "first" else -1]).save(buf, format="PNG")
    name = f"inputs/frames/{clip.project_id}/{uuid.uuid4().hex}.png"
    return default_storage.save(name, ContentFile(buf.getvalue()))


# --- Reads: the gallery's filters and sort ----------------------------------------------

SORTS = {
    "newest": ("-created_at", "-pk"),
    "oldest": ("created_at", "pk"),
}
"""Orders the keyset pages can walk on the (project, created_at, id) index; starred clips
have their own filter rather than a sort that would scan every clip."""
DERIVED_CHOICES = ("original", "derived")


def clip_filter(qs: QuerySet[Clip], params: Mapping[str, str]) -> QuerySet[Clip]:
    """Narrow and order a clip queryset by the gallery's query parameters.

    `q` searches titles and prompts; `engine`, `mode`, `aspect`, `camera` and `author`
    (a username) match exactly; `favourite=1` keeps starred clips; `derived` is
    "original" or "derived" (made from another clip); `sort` is one of SORTS. Unknown or
    blank values are ignored, so a stale link never errors. Takes and returns a queryset so
    pagination composes with it.
    """
    get = lambda key: (params.get(key) or "").strip()  # noqa: E731
    if q := get("q"):
        qs = qs.filter(
            Q(title__icontains=q)
            | Q(generation__prompt__text__icontains=q)
            | Q(generation__recipe__prompt__icontains=q)
        )
    if engine := get("engine"):
        qs = qs.filter(generation__engine=engine)
    if mode := get("mode"):
        qs = qs.filter(generation__mode=mode)
    if aspect := get("aspect"):
        qs = qs.filter(generation__prompt__aspect_ratio=aspect)
    if camera := get("camera"):
        qs = qs.filter(generation__recipe__camera_motion=camera)
    if author := get("author"):
        qs = qs.filter(generation__requested_by__username=author)
    if get("favourite") in ("1", "on", "true"):
        qs = qs.filter(favourite=True)
    derived = get("derived")
    if derived == "original":
        qs = qs.filter(parent_clip__isnull=True)
    elif derived == "derived":
        qs = qs.filter(parent_clip__isnull=False)
    return qs.order_by(*SORTS[gallery_sort(params)])


def gallery_sort(params: Mapping[str, str]) -> str:
    sort = (params.get("sort") or "").strip()
    return sort if sort in SORTS else "newest"


def gallery_facets(project) -> dict[str, list]:
    """The values the project's filters offer: the studio's engines, the modes, the team's
    members. Read from configuration and the team, never by scanning the project's clips,
    so the page costs the same at 10 clips and at 10,000."""
    from generation.spec import MODE_LABELS
    from studio.jobs.engines import available_engines

    members = project.team.memberships.select_related("user").order_by("user__username")
    return {
        "engines": [info.id for info in available_engines()],
        "modes": list(MODE_LABELS),
        "authors": [m.user.username for m in members],
    }


class _Sink:
    """A write-only file that hands out what was written, for streaming a zip."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> Iterator[bytes]:
        chunks, self._chunks = self._chunks, []
        yield from chunks


def clips_zip_stream(clips: list[Clip]) -> Iterator[bytes]:
    """Stream the clips' MP4s as a zip (stored, not deflated: H.264 does not compress),
    never holding more than one read chunk in memory."""
    import zipfile

    from django.core.files.storage import default_storage

    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as archive:  # type: ignore[arg-type]
        for clip in clips:
            arcname = f"clip-{clip.pk}-seed{clip.generation.recipe.get('seed')}.mp4"
            with (
                archive.open(arcname, "w", force_zip64=True) as out,
                default_storage.open(clip.file.name) as src,
            ):
                while chunk := src.read(1 << 20):
                    out.write(chunk)
                    yield from sink.drain()
            yield from sink.drain()
    yield from sink.drain()


def footage_derive(*, project, user: User, upload, options: dict) -> Generation:
    """Store an uploaded video and submit a transformation of it (the API's edits path).

    The stored file is the run's input; it is removed again if the request is refused.
    """
    import uuid
    from pathlib import Path

    from django.core.files.storage import default_storage

    from studio.jobs.recipes import SourceVideo, build_derived_request

    suffix = Path(upload.name or "").suffix.lower()[:8] or ".mp4"
    name = default_storage.save(f"inputs/uploads/{project.pk}/{uuid.uuid4().hex}{suffix}", upload)
    try:
        try:
            source = SourceVideo.of_file(name)
        except GenerationError as e:
            raise GenerationError(
                e.message.replace(Path(name).name, upload.name or "The upload"), field="video_path"
            ) from None
        info, request, notes = build_derived_request(source, **options)
        return generation_submit(
            project=project, user=user, engine_id=info.id, request=request, notes=notes
        )
    except Exception:
        media.delete(name)
        raise
