import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from generation import video
from generation.spec import GenerationError, GenerationRequest, VideoResult
from studio.gallery.models import Clip
from studio.jobs.models import Generation
from studio.jobs.services import generation_submit


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
            frames_sha256=hashlib.sha256(result.frames.tobytes()).hexdigest(),
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


def _spritesheet_path(mp4: Path) -> Path:
    return mp4.with_name(f"{mp4.stem}-sprites.jpg")


def clip_spritesheet(*, clip: Clip) -> Path:
    """Return the clip's frame grid, drawing it from the MP4 for clips made before it existed."""
    path = _spritesheet_path(Path(clip.file.path))
    if not path.exists():
        frames, _ = video.read_video(clip.file.path)
        video.write_spritesheet(frames, path)
    return path


def generation_delete(*, generation: Generation) -> None:
    """Delete a finished run, its clip and the clip's files; clips made from it keep theirs."""
    if generation.is_active:
        raise GenerationError(
            "The video is still being made; cancel it and wait until it stops.", code="active"
        )
    clip = Clip.objects.filter(generation=generation).first()
    files = []
    if clip is not None:
        mp4 = Path(clip.file.path)
        files = [mp4, Path(clip.poster.path), _spritesheet_path(mp4)]
    generation.delete()
    for path in files:
        path.unlink(missing_ok=True)
