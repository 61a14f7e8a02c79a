"""Fill a project with N realistic clips fast, so benchmarks and reviewers share one data set."""

import random
from contextlib import contextmanager
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from generation.prompting import CAMERA_MOTIONS, STYLE_PRESETS
from generation.spec import GenerationRequest, NullProgress
from studio.jobs.engines import get_registry
from studio.jobs.models import Clip, Generation, Prompt
from studio.jobs.services import clip_store
from studio.projects.models import Project
from studio.projects.services import project_create
from studio.teams.models import Membership

SUBJECTS = (
    "a lighthouse on a basalt cliff", "a red fox crossing fresh snow", "a night market in the rain",
    "a paper boat drifting down a gutter", "an astronaut tending a greenhouse", "a koi pond at dawn",
    "a vintage tram climbing a hill", "a glassblower shaping a vase", "wind turbines above fog",
    "a cat asleep on a stack of books", "a surfer under a breaking wave", "a desert caravan at dusk",
)  # fmt: skip
SETTINGS = (
    "golden hour", "blue hour", "overcast light", "neon reflections", "soft morning haze",
    "harsh noon sun", "candlelight", "moonlight",
)  # fmt: skip
SIZES = ((512, 288), (288, 512), (384, 384), (640, 360), (768, 432))
DERIVED_SHARE = 0.1
BATCH = 2000


@contextmanager
def _explicit_timestamps():
    """Let bulk_create keep the spread-out creation times we give it."""
    fields = [Clip._meta.get_field("created_at"), Generation._meta.get_field("queued_at")]
    fields.append(Prompt._meta.get_field("created_at"))
    for f in fields:
        f.auto_now_add = False
    try:
        yield
    finally:
        for f in fields:
            f.auto_now_add = True


class Command(BaseCommand):
    help = (
        "Create a project in USERNAME's personal team holding N clips (prompts, varied "
        "recipes, ~10%% derived clips with parents) that share one real rendered clip's "
        "files, and print the project id alone on stdout."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("n", type=int)
        parser.add_argument("--name", help="Project name. Default: 'Gallery of N'.")
        parser.add_argument("--seed", type=int, default=0, help="Random seed for the recipes.")

    def handle(self, *args, username, n, name, seed, **options):
        if n < 1:
            raise CommandError("N must be at least 1.")
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        membership = (
            Membership.objects.filter(user=user, team__personal=True, role=Membership.Role.OWNER)
            .select_related("team")
            .first()
        )
        if membership is None:
            raise CommandError(f"{username} has no personal team.")
        project = project_create(team=membership.team, name=name or f"Gallery of {n}", user=user)
        first = self._render_first(project, user)
        seed_clips(project=project, user=user, template=first, n=n - 1, rng=random.Random(seed))
        self.stderr.write(f"Created project {project.name!r} with {n} clips for {username}.")
        self.stdout.write(str(project.pk))

    @transaction.atomic  # A running worker's reconcile must never see the run half made.
    def _render_first(self, project: Project, user: User) -> Clip:
        """One real clip through the real engine and clip_store; the others share its files."""
        request = GenerationRequest(
            prompt="a lighthouse on a basalt cliff, golden hour",
            width=512, height=288, num_frames=24, fps=12, seed=7, camera_motion="dolly_in",
        )  # fmt: skip
        prompt = Prompt.objects.create(
            project=project, author=user, text=request.prompt, camera_motion="dolly_in",
            width=512, height=288, duration_s=2.0, fps=12, seed=7, engine="animatic",
        )  # fmt: skip
        generation = Generation.objects.create(
            project=project, prompt=prompt, requested_by=user, engine="animatic",
            mode=request.mode, recipe=request.to_dict(), status=Generation.Status.RUNNING,
            total_steps=request.num_frames, step=request.num_frames,
        )  # fmt: skip
        result = get_registry().get("animatic").generate(request, NullProgress())
        return clip_store(generation=generation, result=result)


@transaction.atomic
def seed_clips(*, project: Project, user: User, template: Clip, n: int, rng: random.Random) -> None:
    """Bulk-create n clips older than `template`, one every 37 s, ~10% derived from others."""
    now = template.created_at
    motions, styles = list(CAMERA_MOTIONS), ["", *STYLE_PRESETS]
    files = {
        "file": template.file.name,
        "poster": template.poster.name,
        "spritesheet": template.spritesheet.name,
        "frames_sha256": template.frames_sha256,
    }
    base: list[int] = []  # Indexes of clips made from a prompt, which derived ones pick from.
    pks: dict[int, int] = {}
    with _explicit_timestamps():
        for start in range(0, n, BATCH):
            rows = []
            for k in range(start, min(n, start + BATCH)):
                at = now - timedelta(seconds=37 * (n - k))
                w, h = rng.choice(SIZES)
                text = f"{rng.choice(SUBJECTS)}, {rng.choice(SETTINGS)}"
                request = GenerationRequest(
                    prompt=text, width=w, height=h, num_frames=rng.choice((17, 24, 33, 49)),
                    fps=rng.choice((8, 12, 16, 24)), seed=rng.randrange(2**31),
                    camera_motion=rng.choice(motions), style=rng.choice(styles),
                )  # fmt: skip
                parent = None
                if base and rng.random() < DERIVED_SHARE:
                    parent = rng.choice(base[-500:])
                    mode = rng.choice(("interpolate", "upscale"))
                    request = request.replace(mode=mode, camera_motion="static")
                else:
                    base.append(k)
                rows.append((k, at, text, request, parent))
            # Clips made from prompts first, so the derived ones can point at them.
            for derived in (False, True):
                part = [row for row in rows if (row[4] is not None) == derived]
                for row, clip in zip(part, _create(project, user, files, part, pks), strict=True):
                    pks[row[0]] = clip.pk


def _create(project: Project, user: User, files: dict, rows: list, pks: dict) -> list[Clip]:
    prompts = Prompt.objects.bulk_create(
        Prompt(
            project=project,
            author=user,
            text=text,
            camera_motion=r.camera_motion,
            style_preset=r.style,
            width=r.width,
            height=r.height,
            duration_s=round(r.num_frames / r.fps, 2),
            fps=r.fps,
            seed=r.seed,
            engine="animatic",
            created_at=at,
        )  # fmt: skip
        for k, at, text, r, parent in rows
        if parent is None
    )
    prompt_iter = iter(prompts)
    generations = Generation.objects.bulk_create(
        Generation(
            project=project,
            prompt=None if parent is not None else next(prompt_iter),
            source_clip_id=pks[parent] if parent is not None else None,
            requested_by=user,
            engine="enhance" if parent is not None else "animatic",
            mode=r.mode,
            recipe=r.to_dict(),
            status=Generation.Status.SUCCEEDED,
            step=r.num_frames,
            total_steps=r.num_frames,
            attempts=1,
            queued_at=at,
            started_at=at,
            finished_at=at + timedelta(seconds=3),
        )  # fmt: skip
        for k, at, text, r, parent in rows
    )
    return Clip.objects.bulk_create(
        Clip(
            generation=g,
            project=project,
            width=r.width,
            height=r.height,
            fps=r.fps,
            num_frames=r.num_frames,
            parent_clip_id=g.source_clip_id,
            created_at=at + timedelta(seconds=3),
            **files,
        )  # fmt: skip
        for g, (k, at, text, r, parent) in zip(generations, rows, strict=True)
    )
