"""Writes for storyboards: boards from templates, shots (add, edit, delete, duplicate,
reorder), generating takes through the normal prompt pipeline, and picking the take used."""

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Max

from generation import video
from generation.prompting import random_seed
from generation.spec import GenerationError
from studio import media
from studio.jobs.engines import engine_info
from studio.jobs.models import Generation
from studio.jobs.provenance import clip_sign
from studio.moderation.services import prompt_policy_check
from studio.projects.models import Project
from studio.prompts.services import prompt_submit
from studio.storyboards.models import Shot, Storyboard, Take

logger = logging.getLogger(__name__)

SHOT_FIELDS = (
    "description",
    "image",
    "duration_s",
    "camera_motion",
    "style_preset",
    "transition",
    "transition_s",
    "trim_in",
    "trim_out",
    "on_screen_text",
    "continue_previous",
)
BOARD_FIELDS = (
    "name",
    "engine",
    "style_preset",
    "negative_text",
    "aspect_ratio",
    "resolution",
    "fps",
    "seed",
    "seed_policy",
    "title_text",
    "end_text",
    "export_format",
    "export_fps",
    "export_fit",
    "export_scaler",
)


@dataclass(frozen=True)
class ShotTemplate:
    description: str
    camera_motion: str = "static"
    duration_s: float = 3.0
    transition: str = "cut"
    on_screen_text: str = ""
    continue_previous: bool = False
    uses_product_image: bool = False


@dataclass(frozen=True)
class BoardTemplate:
    key: str
    label: str
    style_preset: str
    aspect_ratio: str
    export_format: str
    shots: tuple[ShotTemplate, ...]
    title_text: str = ""
    end_text: str = ""


DARK_FOREST = BoardTemplate(
    "dark_forest",
    "Dark forest (five-shot mood piece)",
    "cinematic",
    "16:9",
    "landscape",
    (
        ShotTemplate(
            "Wide shot of a dark pine forest at dusk, low fog between the trunks, cold blue light",
            "drone",
            4.0,
        ),
        ShotTemplate(
            "A lone hiker with a lantern walks between the trees, breath visible in the cold",
            "tracking",
            3.0,
            "crossfade",
        ),
        ShotTemplate(
            "Close-up of the lantern flame flickering, something moves in the dark behind",
            "dolly_in",
            2.5,
        ),
        ShotTemplate(
            "The hiker turns; glowing eyes blink among the ferns",
            "handheld",
            2.5,
            continue_previous=True,
        ),
        ShotTemplate(
            "A moonlit clearing opens up, the fog lifts, the forest falls silent",
            "crane_up",
            4.0,
            "crossfade",
        ),
    ),
    title_text="The Dark Forest",
    end_text="The End",
)


def product_video(product: str) -> BoardTemplate:
    """The product pack: a hero shot from the product image, three features, a call to action."""
    name = product.strip() or "Your product"
    return BoardTemplate(
        "product",
        "Product video (hero, three features, call to action)",
        "photoreal",
        "9:16",
        "vertical",
        (
            ShotTemplate(
                f"Hero shot of {name} on a clean studio set, soft key light",
                "orbit",
                3.0,
                uses_product_image=True,
            ),
            ShotTemplate(f"Feature one: {name} in use, detail close-up", "dolly_in", 2.5),
            ShotTemplate(f"Feature two: {name} in everyday life", "tracking", 2.5, "crossfade"),
            ShotTemplate(f"Feature three: what makes {name} different", "pan_right", 2.5),
            ShotTemplate(
                f"{name} centred on a plain background, ready to buy",
                "zoom_out",
                3.0,
                "crossfade",
                on_screen_text=f"{name}: shop now",
            ),
        ),
    )


TEMPLATES = {"dark_forest": "Dark forest storyboard", "product": "Product video pack"}


def _board_seed() -> int:
    return random_seed() % (2**31)


@transaction.atomic
def storyboard_create(
    *,
    project: Project,
    user: User,
    name: str,
    engine: str,
    template: str = "",
    product_name: str = "",
    product_image: str = "",
) -> Storyboard:
    """Create a board, empty or filled from a template (the product image heads the pack)."""
    if template and template not in TEMPLATES:
        raise GenerationError(f"Unknown template {template!r}.", field="template")
    pack = DARK_FOREST if template == "dark_forest" else None
    if template == "product":
        pack = product_video(product_name)
    board = Storyboard.objects.create(
        project=project,
        name=name.strip() or (pack.label if pack else "Storyboard"),
        engine=engine,
        created_by=user,
        seed=_board_seed(),
        style_preset=pack.style_preset if pack else "",
        aspect_ratio=pack.aspect_ratio if pack else "16:9",
        export_format=pack.export_format if pack else "landscape",
        title_text=pack.title_text if pack else "",
        end_text=pack.end_text if pack else "",
    )
    for i, shot in enumerate(pack.shots if pack else ()):
        Shot.objects.create(
            storyboard=board,
            position=i,
            description=shot.description,
            camera_motion=shot.camera_motion,
            duration_s=shot.duration_s,
            transition=shot.transition,
            on_screen_text=shot.on_screen_text,
            continue_previous=shot.continue_previous,
            image=product_image if shot.uses_product_image else "",
        )
    return board


def storyboard_update(*, storyboard: Storyboard, data: dict) -> Storyboard:
    fields = [f for f in BOARD_FIELDS if f in data]
    for name in fields:
        setattr(storyboard, name, data[name])
    storyboard.save(update_fields=[*fields, "updated_at"])
    return storyboard


def _touch(storyboard: Storyboard) -> None:
    storyboard.save(update_fields=["updated_at"])


@transaction.atomic
def shot_add(*, storyboard: Storyboard, data: dict) -> Shot:
    last = storyboard.shots.aggregate(m=Max("position"))["m"]
    shot = Shot.objects.create(
        storyboard=storyboard,
        position=0 if last is None else last + 1,
        **{
            k: ("" if k == "image" and v is None else v)
            for k, v in data.items()
            if k in SHOT_FIELDS
        },
    )
    _touch(storyboard)
    return shot


@transaction.atomic
def shot_update(*, shot: Shot, data: dict) -> Shot:
    fields = [f for f in SHOT_FIELDS if f in data]
    if "image" in fields and data["image"] is None:
        fields.remove("image")  # No new upload: keep the current image.
    for name in fields:
        setattr(shot, name, data[name])
    shot.save(update_fields=fields)
    _touch(shot.storyboard)
    return shot


def _renumber(storyboard: Storyboard, ordered: list[int]) -> None:
    for position, pk in enumerate(ordered):
        Shot.objects.filter(pk=pk, storyboard=storyboard).update(position=position)


@transaction.atomic
def shot_delete(*, shot: Shot) -> None:
    """Delete the shot; its takes stay in the gallery as ordinary clips."""
    board = shot.storyboard
    shot.delete()
    _renumber(board, list(board.shots.values_list("pk", flat=True)))
    _touch(board)


@transaction.atomic
def shot_duplicate(*, shot: Shot) -> Shot:
    """Copy the shot's plan (not its takes) right after it."""
    board = shot.storyboard
    board.shots.filter(position__gt=shot.position).update(position=F("position") + 1)
    copy = Shot.objects.create(
        storyboard=board,
        position=shot.position + 1,
        **{name: getattr(shot, name) for name in SHOT_FIELDS},
    )
    _touch(board)
    return copy


@transaction.atomic
def storyboard_reorder(*, storyboard: Storyboard, order: list[int]) -> None:
    """Put the shots in `order` (every shot id of the board, once)."""
    current = list(storyboard.shots.values_list("pk", flat=True))
    if sorted(order) != sorted(current):
        raise GenerationError(
            "The new order must list every shot of this storyboard exactly once.", field="order"
        )
    _renumber(storyboard, order)
    _touch(storyboard)


@transaction.atomic
def shot_move(*, shot: Shot, offset: int) -> None:
    """Move a shot up (-1) or down (+1); the keyboard alternative to dragging."""
    order = list(shot.storyboard.shots.values_list("pk", flat=True))
    i = order.index(shot.pk)
    j = min(len(order) - 1, max(0, i + offset))
    order.insert(j, order.pop(i))
    storyboard_reorder(storyboard=shot.storyboard, order=order)


def previous_shot(shot: Shot) -> Shot | None:
    return (
        Shot.objects.filter(storyboard=shot.storyboard_id, position__lt=shot.position)
        .order_by("-position", "-pk")
        .first()
    )


def used_take(shot: Shot) -> Generation | None:
    """The take the edit uses: the chosen one if it finished, else the newest finished one."""
    finished = {"status": Generation.Status.SUCCEEDED, "clip__isnull": False}
    if shot.chosen_id and Generation.objects.filter(pk=shot.chosen_id, **finished).exists():
        return shot.chosen
    take = (
        shot.takes.filter(**{f"generation__{k}": v for k, v in finished.items()})
        .select_related("generation__clip")
        .first()
    )
    return take.generation if take else None


def shot_seed(shot: Shot) -> int:
    board = shot.storyboard
    if board.seed_policy == Storyboard.SeedPolicy.RANDOM:
        return random_seed()
    if board.seed_policy == Storyboard.SeedPolicy.STEP:
        return board.seed + shot.position
    return board.seed


def _copy_input(name: str) -> str:
    """A copy of a stored image under inputs/, owned by the prompt that uses it."""
    with media.local_copy(name) as local:
        return media.publish(local, f"inputs/storyboards/{Path(name).name}")


def last_frame_input(generation: Generation) -> str:
    """Store the last frame of a finished take as a PNG input; return its storage name."""
    from PIL import Image

    with media.local_copy(generation.clip.file.name) as local:
        frames, _ = video.read_video(local)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"last-frame-{generation.pk.hex[:12]}.png"
        Image.fromarray(frames[-1]).save(path)
        return media.publish(path, f"inputs/storyboards/{path.name}")


def shot_prompt_data(shot: Shot, *, image: str = "") -> dict:
    """The shot as prompt form data: the board gives engine, size, rate and shared style."""
    board = shot.storyboard
    text = shot.description.strip() or shot.on_screen_text.strip()
    if not text and image:
        text = "The scene in the image comes to life"
    if not text:
        raise GenerationError(
            f"Shot {shot.number} has no description; describe what it shows.", field="prompt"
        )
    return {
        "text": text,
        "negative_text": board.negative_text,
        "camera_motion": shot.camera_motion,
        "style_preset": shot.style_preset or board.style_preset,
        "aspect_ratio": board.aspect_ratio,
        "resolution": board.resolution,
        "duration_s": shot.duration_s,
        "fps": board.fps,
        "seed": shot_seed(shot),
        "steps": None,
        "engine": board.engine,
        "image": image,
    }


def _engine_takes_images(engine_id: str) -> bool:
    info = engine_info(engine_id)
    return info is not None and "image_to_video" in info.capabilities.modes


def shot_generate(*, shot: Shot, user: User) -> Generation | None:
    """Queue a new take of the shot; None when it waits for the previous shot's take.

    A shot that continues from the previous one starts from that take's last frame, so it
    waits until the take exists; the engine must take an input image.
    """
    board = shot.storyboard
    image = ""
    if shot.continue_previous and (before := previous_shot(shot)) is not None:
        if not _engine_takes_images(board.engine):
            raise GenerationError(
                f"Shot {shot.number} continues the previous shot, but this engine cannot "
                "start from an image; choose an image-to-video engine or turn continuation off.",
                field="engine",
            )
        take = used_take(before)
        if take is None:
            Shot.objects.filter(pk=shot.pk).update(waiting_for_previous=True)
            shot.waiting_for_previous = True
            return None
        image = last_frame_input(take)
    elif shot.image:
        image = _copy_input(shot.image.name)
    data = shot_prompt_data(shot, image=image)
    try:
        with transaction.atomic():
            generation = prompt_submit(project=board.project, user=user, data=data)
            Take.objects.create(shot=shot, generation=generation)
            Shot.objects.filter(pk=shot.pk).update(waiting_for_previous=False)
    except Exception:
        if image:
            media.delete(image)
        raise
    shot.waiting_for_previous = False
    return generation


def storyboard_generate_all(
    *, storyboard: Storyboard, user: User
) -> tuple[list[Generation], dict[int, str]]:
    """Queue one take per shot; return the runs queued and, per shot id, why one was not.

    Shots that continue the previous one wait for its take and are queued when it lands.
    """
    queued: list[Generation] = []
    errors: dict[int, str] = {}
    for shot in storyboard.shots.select_related("storyboard__project"):
        try:
            generation = shot_generate(shot=shot, user=user)
        except GenerationError as e:
            errors[shot.pk] = e.message
            continue
        if generation is not None:
            queued.append(generation)
    return queued, errors


def shots_continue_after(*, generation: Generation) -> list[Generation]:
    """A take finished: queue the next shot if it was waiting to continue from this one."""
    take = Take.objects.select_related("shot__storyboard").filter(generation=generation).first()
    if take is None:
        return []
    after = (
        Shot.objects.filter(storyboard=take.shot.storyboard_id, position__gt=take.shot.position)
        .select_related("storyboard__project")
        .order_by("position", "pk")
        .first()
    )
    if after is None or not after.waiting_for_previous:
        return []
    user = generation.requested_by
    try:
        started = shot_generate(shot=after, user=user) if user else None
    except GenerationError:
        logger.warning("Shot %s could not continue from %s", after.pk, generation.pk, exc_info=True)
        return []
    return [started] if started else []


@transaction.atomic
def take_choose(*, take: Take) -> Shot:
    shot = take.shot
    if take.generation.status != Generation.Status.SUCCEEDED or not hasattr(
        take.generation, "clip"
    ):
        raise GenerationError("Only a finished take can be used in the edit.", field="take")
    shot.chosen = take.generation
    shot.save(update_fields=["chosen"])
    _touch(shot.storyboard)
    return shot


MAX_SOUNDTRACK_BYTES = 50 * 1024 * 1024
EXPORT_MODE = "edit"


def soundtrack_store(upload) -> str:
    """Check an uploaded soundtrack (format, size, decodable audio); return its storage name."""
    from generation.edit import AUDIO_EXTENSIONS, check_audio_file

    suffix = Path(upload.name).suffix.lower()
    if suffix not in AUDIO_EXTENSIONS:
        raise GenerationError(
            f"{upload.name} is not a supported soundtrack; use "
            f"{', '.join(e.lstrip('.') for e in AUDIO_EXTENSIONS)}.",
            field="soundtrack",
        )
    if upload.size > MAX_SOUNDTRACK_BYTES:
        raise GenerationError(
            f"The soundtrack is {upload.size / 2**20:.0f} MB; the limit is "
            f"{MAX_SOUNDTRACK_BYTES // 2**20} MB.",
            field="soundtrack",
        )
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / f"soundtrack{suffix}"
        with open(local, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        check_audio_file(local)
        return media.publish(local, f"inputs/soundtracks/{Path(upload.name).name}")


def export_recipe(storyboard: Storyboard, *, soundtrack: str = "") -> tuple[dict, Generation]:
    """The edit as a recipe: every shot's chosen take (clip id and file), trims, joins, cards,
    the export preset and the soundtrack; raise GenerationError for a shot without a take."""
    from generation.edit import EXPORT_FORMATS

    shots = list(storyboard.shots.select_related("chosen__clip"))
    if not shots:
        raise GenerationError("The storyboard has no shots to export.", field="shots")
    entries, first = [], None
    for shot in shots:
        take = used_take(shot)
        if take is None:
            raise GenerationError(
                f"Shot {shot.number} has no finished take; generate it first.", field="shots"
            )
        first = first or take
        entries.append(
            {
                "shot_id": shot.pk,
                "clip_id": take.clip.pk,
                "path": take.clip.file.name,
                "trim_in": shot.trim_in,
                "trim_out": shot.trim_out,
                "transition": shot.transition,
                "transition_s": shot.transition_s,
                "text": shot.on_screen_text,
            }
        )
    fmt = EXPORT_FORMATS[storyboard.export_format]
    recipe = {
        "mode": EXPORT_MODE,
        "prompt": f"{storyboard.name}: the edit of {len(shots)} shots",
        "storyboard_id": storyboard.pk,
        "shots": entries,
        "clip_ids": [e["clip_id"] for e in entries],
        "export_format": fmt.key,
        "width": fmt.width,
        "height": fmt.height,
        "fps": storyboard.export_fps,
        "fit": storyboard.export_fit,
        "scaler": storyboard.export_scaler,
        "title": storyboard.title_text,
        "end": storyboard.end_text,
        "soundtrack": soundtrack,
        "seed": storyboard.seed,
    }
    assert first is not None
    return recipe, first


def storyboard_export(*, storyboard: Storyboard, user: User, soundtrack=None) -> Generation:
    """Queue the edit as a job: a Generation in mode `edit` whose clip's parent is the first
    shot's take and whose recipe lists every shot's clip."""
    from studio.jobs.services import generation_record

    recipe, first = export_recipe(storyboard)
    # Words drawn on screen (title, end card, captions) meet the same policy as prompts.
    shown = [recipe.get("title"), recipe.get("end"), *(s.get("text") for s in recipe["shots"])]
    if text := "\n".join(t for t in shown if t):
        prompt_policy_check(user=user, project=storyboard.project, prompt=text)
    name = soundtrack_store(soundtrack) if soundtrack else ""
    recipe["soundtrack"] = name
    try:
        # The team's quotas and fair share apply to the edit as to any job.
        generation = generation_record(
            project=storyboard.project,
            user=user,
            engine_id=EXPORT_MODE,
            mode=EXPORT_MODE,
            recipe=recipe,
            source_clip=first.clip,
            notes=[
                f"Edit of {len(recipe['shots'])} shots: clips "
                + ", ".join(str(i) for i in recipe["clip_ids"])
                + "."
            ],
        )
    except Exception:
        media.delete(name)
        raise
    return generation


def storyboard_exports(storyboard: Storyboard):
    return (
        Generation.objects.filter(
            project=storyboard.project_id, mode=EXPORT_MODE, recipe__storyboard_id=storyboard.pk
        )
        .select_related("clip")
        .order_by("-queued_at")[:5]
    )


def export_store(*, generation: Generation, path: Path, notes: list[str]) -> None:
    """Publish a finished export (MP4 and poster) and record the clip with the run's success."""
    import secrets

    from django.utils import timezone

    from studio.jobs.models import Clip

    info = video.probe(path)
    frames, _ = video.read_video(path, max_frames=1)
    stem = f"clips/{generation.project_id}/{generation.pk}-{secrets.token_hex(4)}"
    names: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            poster = Path(tmp) / "poster.jpg"
            video.write_poster(frames, poster)
            # Signed like every clip: an edit of AI shots, the first shot as its parent.
            credentials = clip_sign(generation=generation, mp4=path)
            names.append(media.publish(path, f"{stem}.mp4"))
            names.append(media.publish(poster, f"{stem}.jpg"))
        with transaction.atomic():
            Clip.objects.create(
                generation=generation,
                project_id=generation.project_id,
                file=names[0],
                poster=names[1],
                width=info.width,
                height=info.height,
                fps=info.fps,
                num_frames=info.num_frames,
                parent_clip_id=generation.source_clip_id,
                credentials=credentials.to_dict(),
            )
            Generation.objects.filter(pk=generation.pk).update(
                status=Generation.Status.SUCCEEDED,
                finished_at=timezone.now(),
                step=F("total_steps"),
                notes=list(generation.notes) + [n for n in notes if n not in generation.notes],
            )
    except BaseException:
        media.delete(*names)
        raise
