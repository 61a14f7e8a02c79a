import uuid
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db import transaction

from generation.prompting import (
    ANATOMY_PARTS,
    STYLE_PRESETS,
    Anatomy,
    Hint,
    assemble_prompt,
    prompt_hints,
    random_seed,
)
from generation.spec import GenerationError
from studio.jobs.engines import EngineInfo
from studio.jobs.models import Generation, Prompt
from studio.jobs.recipes import build_request, engine_prompt
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


def prompt_submit_variants(
    *, project: Project, user: User, data: dict, count: int
) -> list[Generation]:
    """Submit `count` runs of one prompt with different seeds: the given seed and the next
    ones, or fresh random seeds. The variants share one stored input image.

    The policy is checked once, before the transaction, so a blocked attempt stays logged.
    """
    if not 1 <= count <= 4:
        raise GenerationError("Make 1–4 variants.", field="variants")
    prompt_policy_check(
        user=user,
        project=project,
        prompt=data.get("text", ""),
        negative_prompt=data.get("negative_text", ""),
    )
    return _prompt_submit_variants(project=project, user=user, data=data, count=count)


@transaction.atomic
def _prompt_submit_variants(
    *, project: Project, user: User, data: dict, count: int
) -> list[Generation]:
    base = data.get("seed")
    first = _prompt_submit(project=project, user=user, data=data)
    generations = [first]
    used = {first.recipe["seed"]}
    for i in range(1, count):
        seed = base + i if base is not None else random_seed()
        while seed in used:
            seed = random_seed()
        used.add(seed)
        fields = {**data, "seed": seed}
        if first.prompt and first.prompt.image:
            fields["image"] = first.prompt.image.name
        generations.append(_prompt_submit(project=project, user=user, data=fields))
    # One group per submit, so the page shows the variants side by side after a reload too.
    group = uuid.uuid4()
    Generation.objects.filter(pk__in=[g.pk for g in generations]).update(variant_group=group)
    for generation in generations:
        generation.variant_group = group
    return generations


def last_prompt(*, project: Project, user: User) -> Prompt | None:
    """The user's latest prompt in the project: the form starts from its settings."""
    return Prompt.objects.filter(project=project, author=user).order_by("-created_at").first()


@dataclass
class BuilderPreview:
    """What the live builder shows: the assembled prompt, what the engine will read, the
    negative terms the style adds, and the hints."""

    assembled: str
    text: str
    engine_text: str
    style_negative: str
    length: int
    limit: int
    hints: list[Hint] = field(default_factory=list)


def builder_preview(*, data, engine: EngineInfo | None, source: str = "") -> BuilderPreview:
    """Assemble and check a prompt as typed; `source` names the field that changed.

    A change to a part of the anatomy (or an empty prompt) means the assembled prompt is
    the prompt; otherwise the text as written is, so manual edits stay.
    """
    assembled = assemble_prompt(Anatomy.from_mapping(data))
    written = str(data.get("text") or "")
    text = assembled if assembled and (source in ANATOMY_PARTS or not written.strip()) else written
    camera = str(data.get("camera_motion") or "static")
    style = str(data.get("style_preset") or "")
    speed = str(data.get("camera_speed") or "normal")
    limit = engine.capabilities.max_prompt_chars if engine else 2000
    try:
        engine_text = (
            engine_prompt(
                engine, text.strip(), camera_motion=camera, style=style, camera_speed=speed
            )
            if engine
            else text
        )
    except GenerationError as e:
        engine_text = e.message
    preset = STYLE_PRESETS.get(style)
    return BuilderPreview(
        assembled=assembled,
        text=text,
        engine_text=engine_text,
        style_negative=preset.negative if preset else "",
        length=len(text),
        limit=limit,
        hints=prompt_hints(text, camera_motion=camera, max_chars=limit),
    )
