"""Writes that make new clips from a clip: transformations and remixes."""

from django.contrib.auth.models import User
from django.db import transaction

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
