from django.contrib.auth.models import User
from django.db import transaction

from generation.prompting import random_seed
from studio.jobs.models import Generation, Prompt
from studio.jobs.recipes import build_request
from studio.jobs.services import generation_submit
from studio.moderation.services import prompt_policy_check
from studio.projects.models import Project


def prompt_submit(*, project: Project, user: User, data: dict) -> Generation:
    """Check the prompt against the policy, then save it and submit its run.

    The policy check comes first, outside the transaction, so a blocked attempt stays logged.
    """
    prompt_policy_check(
        user=user,
        project=project,
        prompt=data.get("text", ""),
        negative_prompt=data.get("negative_text", ""),
    )
    return _prompt_submit(project=project, user=user, data=data)


@transaction.atomic
def _prompt_submit(*, project: Project, user: User, data: dict) -> Generation:
    """Save the prompt (a blank seed becomes a recorded random one) and submit its run."""
    fields = dict(data)
    if fields.get("seed") is None:
        fields["seed"] = random_seed()
    prompt = Prompt.objects.create(project=project, author=user, **fields)
    image_path = prompt.image.name if prompt.image else None
    try:
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
        )
    except Exception:
        # The row rolls back with the transaction; the uploaded file would not.
        if prompt.image:
            prompt.image.delete(save=False)
        raise
