from django.contrib.auth.models import User
from django.db import transaction

from generation.prompting import random_seed
from studio.jobs.models import Generation
from studio.jobs.services import generation_submit
from studio.projects.models import Project
from studio.prompts.models import Prompt
from studio.prompts.recipes import build_request


@transaction.atomic
def prompt_submit(*, project: Project, user: User, data: dict, source_clip=None) -> Generation:
    """Save the prompt (a blank seed becomes a recorded random one) and submit its run.

    `source_clip` records lineage when the prompt remixes an existing clip.
    """
    fields = dict(data)
    if fields.get("seed") is None:
        fields["seed"] = random_seed()
    prompt = Prompt.objects.create(project=project, author=user, **fields)
    image_path = prompt.image.path if prompt.image else None
    request, notes = build_request(prompt, image_path=image_path)
    if image_path:
        prompt.mode = request.mode
        prompt.save(update_fields=["mode"])
    return generation_submit(
        project=project,
        user=user,
        engine_id=prompt.engine,
        request=request,
        prompt=prompt,
        notes=notes,
        source_clip=source_clip,
    )
