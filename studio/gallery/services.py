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
        info = video.probe(tmp_mp4)
        if info.num_frames != result.num_frames:
            raise GenerationError(
                f"The encoded clip has {info.num_frames} frames instead of {result.num_frames}."
            )
        mp4 = out_dir / f"{generation.pk}.mp4"
        jpg = out_dir / f"{generation.pk}.jpg"
        os.replace(tmp_mp4, mp4)
        os.replace(tmp_jpg, jpg)
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
