"""Writes that make new clips from a clip (transformations, remixes) and the gallery's pages."""

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from generation.spec import GenerationError, GenerationRequest
from studio import media
from studio.jobs.engines import engine_info
from studio.jobs.models import Clip, Generation, Prompt
from studio.jobs.recipes import engine_prompt
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


def clip_remix(*, clip: Clip, user: User, text: str) -> Generation:
    """Check the new prompt against the policy (outside the transaction, so a blocked
    attempt stays logged), then remix."""
    original = clip.generation.prompt
    prompt_policy_check(
        user=user,
        project=clip.project,
        prompt=text,
        negative_prompt=original.negative_text if original else "",
    )
    return _clip_remix(clip=clip, user=user, text=text)


@transaction.atomic
def _clip_remix(*, clip: Clip, user: User, text: str) -> Generation:
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
    request = request.replace(
        prompt=engine_prompt(info, text, camera_motion=request.camera_motion, style=request.style)
    )
    original = source.prompt
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
    clips: QuerySet[Clip], *, after: str | None = None, size: int = GALLERY_PAGE_SIZE
) -> GalleryPage:
    """A page of `clips` (already filtered by the caller), newest first, after the `after` cursor.

    Keyset pagination over the (project, created_at, id) index: the cost of a page does not
    grow with how deep it is or how many clips the project holds. The page's ids are picked
    first on the index alone, then only those rows are joined with their generation and
    prompt (whose recipe JSON would otherwise be carried through the sort).
    """
    keys = clips.order_by("-created_at", "-pk")
    if after:
        at, pk = _parse_cursor(after)
        # `<=` then excluding the tie keeps a plain index range (an OR would not).
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
