"""Writes that make new clips from a clip: transformations and remixes."""

from collections.abc import Iterator, Mapping

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet

from generation.spec import GenerationError, GenerationRequest
from studio import media
from studio.jobs.engines import engine_info
from studio.jobs.models import Clip, Generation, Prompt
from studio.jobs.recipes import engine_prompt
from studio.jobs.services import generation_submit


def clip_derive(
    *, clip: Clip, user: User, engine_id: str, request: GenerationRequest, notes: list[str]
) -> Generation:
    """Submit a transformation of `clip`; the clip it makes records `clip` as its parent."""
    return generation_submit(
        project=clip.project,
        user=user,
        engine_id=engine_id,
        request=request,
        notes=notes,
        source_clip=clip,
    )


REMIXABLE = ("text_to_video", "image_to_video")


@transaction.atomic
def clip_remix(*, clip: Clip, user: User, text: str) -> Generation:
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
    speed = original.camera_speed if original else "normal"
    request = request.replace(
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
        motion_amount=original.motion_amount if original else None,
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
    "favourites": ("-favourite", "-created_at", "-pk"),
    "longest": ("-num_frames", "-created_at", "-pk"),
}
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
    return qs.order_by(*SORTS.get(get("sort"), SORTS["newest"]))


def gallery_facets(project) -> dict[str, list]:
    """The values the project's filters offer: engines, modes and authors in use."""
    gens = Generation.objects.filter(project=project, clip__isnull=False)
    return {
        "engines": sorted(set(gens.values_list("engine", flat=True))),
        "modes": sorted(set(gens.values_list("mode", flat=True))),
        "authors": sorted({u for u in gens.values_list("requested_by__username", flat=True) if u}),
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
