import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from generation import video
from generation.spec import GenerationError, GenerationRequest, VideoResult
from studio.gallery.models import Clip
from studio.jobs.engines import engine_info
from studio.jobs.models import Generation
from studio.jobs.services import generation_submit
from studio.prompts.models import Prompt
from studio.prompts.recipes import engine_prompt


def clip_store(*, generation: Generation, result: VideoResult) -> Clip:
    """Encode, check that the file decodes with every frame, then publish clip and status together."""
    out_dir = Path(settings.MEDIA_ROOT) / "clips" / str(generation.project_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".tmp-") as tmp:
        tmp_mp4 = Path(tmp) / "clip.mp4"
        tmp_jpg = Path(tmp) / "poster.jpg"
        recipe = dict(generation.recipe, engine=generation.engine, generation_id=str(generation.pk))
        video.encode_mp4(result.frames, result.fps, tmp_mp4, metadata=video.recipe_metadata(recipe))
        video.write_poster(result.frames, tmp_jpg)
        video.write_spritesheet(result.frames, Path(tmp) / "sprites.jpg")
        info = video.probe(tmp_mp4)
        if info.num_frames != result.num_frames:
            raise GenerationError(
                f"The encoded clip has {info.num_frames} frames instead of {result.num_frames}."
            )
        mp4 = out_dir / f"{generation.pk}.mp4"
        jpg = out_dir / f"{generation.pk}.jpg"
        os.replace(tmp_mp4, mp4)
        os.replace(tmp_jpg, jpg)
        os.replace(Path(tmp) / "sprites.jpg", _spritesheet_path(mp4))
    media = Path(settings.MEDIA_ROOT)
    # Hash the frames in place (no copy), and before the write lock is taken.
    digest = hashlib.sha256(np.ascontiguousarray(result.frames)).hexdigest()
    with transaction.atomic():
        clip = Clip.objects.create(
            generation=generation,
            project_id=generation.project_id,
            file=str(mp4.relative_to(media)),
            poster=str(jpg.relative_to(media)),
            width=info.width,
            height=info.height,
            fps=result.fps,
            num_frames=info.num_frames,
            frames_sha256=digest,
            parent_clip_id=generation.source_clip_id,
        )
        Generation.objects.filter(pk=generation.pk).update(
            status=Generation.Status.SUCCEEDED,
            finished_at=timezone.now(),
            step=F("total_steps"),
            notes=list(generation.notes) + [n for n in result.notes if n not in generation.notes],
        )
    return clip


def clip_derive(
    *, clip: Clip, user, engine_id: str, request: GenerationRequest, notes: list[str]
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
def clip_remix(*, clip: Clip, user, text: str) -> Generation:
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
    if request.image_path and not os.path.exists(request.image_path):
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


def _spritesheet_path(mp4: Path) -> Path:
    return mp4.with_name(f"{mp4.stem}-sprites.jpg")


def clip_spritesheet(*, clip: Clip) -> Path:
    """Return the clip's frame grid, drawing it from the MP4 for clips made before it existed."""
    path = _spritesheet_path(Path(clip.file.path))
    if not path.exists():
        frames, _ = video.read_video(clip.file.path)
        video.write_spritesheet(frames, path)
    return path


def _input_in_use(path: str) -> bool:
    return Generation.objects.filter(
        Q(recipe__image_path=path) | Q(recipe__last_image_path=path) | Q(recipe__video_path=path)
    ).exists()


def generation_delete(*, generation: Generation) -> None:
    """Delete a finished run with its clip, files, and inputs nothing else uses.

    Clips made from it keep their files; jobs still reading it must finish first.
    """
    if generation.is_active:
        raise GenerationError(
            "The video is still being made; cancel it and wait until it stops.", code="active"
        )
    clip = Clip.objects.filter(generation=generation).first()
    files: list[Path] = []
    if clip is not None:
        waiting = Generation.objects.filter(source_clip=clip, status__in=Generation.ACTIVE).count()
        if waiting:
            raise GenerationError(
                f"{waiting} job(s) are still being made from this video; "
                "delete it once they finish.",
                code="in_use",
            )
        mp4 = Path(clip.file.path)
        files = [mp4, Path(clip.poster.path), _spritesheet_path(mp4)]
    inputs_dir = Path(settings.MEDIA_ROOT).resolve() / "inputs"
    recipe = generation.recipe or {}
    inputs = [
        p
        for p in (recipe.get(k) for k in ("image_path", "last_image_path", "video_path"))
        if isinstance(p, str) and Path(p).resolve().is_relative_to(inputs_dir)
    ]
    prompt = generation.prompt
    with transaction.atomic():
        generation.delete()
        if prompt is not None and not prompt.generation_set.exists():
            prompt.delete()
    for path in files:
        path.unlink(missing_ok=True)
    for name in inputs:
        if not _input_in_use(name):
            Path(name).unlink(missing_ok=True)
