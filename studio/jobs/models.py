import uuid

from django.conf import settings
from django.db import models

from studio.projects.models import Project


class Prompt(models.Model):
    """The creative intent behind a generation, with its camera and style controls."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    mode = models.CharField(max_length=32, default="text_to_video")
    text = models.TextField(max_length=2000)
    negative_text = models.TextField(max_length=2000, blank=True)
    camera_motion = models.CharField(max_length=32, default="static")
    style_preset = models.CharField(max_length=32, blank=True)
    aspect_ratio = models.CharField(max_length=8, default="16:9")
    resolution = models.PositiveIntegerField(default=512, help_text="Long side in pixels.")
    width = models.PositiveIntegerField(
        null=True, blank=True, help_text="Exact size (the API's WxH); blank: aspect and resolution."
    )
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_s = models.FloatField(default=2.0)
    fps = models.PositiveIntegerField(default=16)
    seed = models.BigIntegerField(null=True, blank=True)
    steps = models.PositiveIntegerField(null=True, blank=True, help_text="Blank: engine default.")
    guidance = models.FloatField(
        null=True, blank=True, help_text="Classifier-free guidance; blank: engine default."
    )
    camera_speed = models.CharField(max_length=8, default="normal")
    motion_amount = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Stable Video Diffusion's motion bucket (1–255)."
    )
    anatomy = models.JSONField(
        default=dict, blank=True, help_text="The builder's parts (subject, action, …), if used."
    )
    engine = models.CharField(max_length=64)
    image = models.FileField(upload_to="inputs/%Y/%m/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The table kept its name when the model moved here from the prompts app.
        db_table = "prompts_prompt"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text[:60]


def sees_hidden(user) -> bool:
    """Staff see clips a moderator hid (to review them); nobody else does."""
    return bool(user is not None and getattr(user, "is_staff", False))


class GenerationQuerySet(models.QuerySet):
    def shown_to(self, user) -> "GenerationQuerySet":
        """Runs `user` may see: those whose clip a moderator hid are left out but for staff."""
        return self if sees_hidden(user) else self.exclude(clip__hidden_at__isnull=False)


class ClipQuerySet(models.QuerySet):
    def shown_to(self, user) -> "ClipQuerySet":
        """Clips `user` may see: hidden ones are left out but for staff.

        Membership is checked separately (`check_project_access`, the API key's projects);
        this is the one place that decides about moderation, for every page, card and call.
        """
        return self if sees_hidden(user) else self.filter(hidden_at__isnull=True)


INPUT_FIELDS = {"image_path": "input image", "last_image_path": "last image", "video_path": "video"}
"""Recipe fields naming input files (storage names in the database, local paths in the
engine), with what to call each in a message."""


class Generation(models.Model):
    """One immutable run of an engine; the database is the source of truth for it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="generations")
    prompt = models.ForeignKey(Prompt, on_delete=models.SET_NULL, null=True, blank=True)
    source_clip = models.ForeignKey(
        "jobs.Clip",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="derived_generations",
        help_text="The clip this run transforms (interpolate, upscale, extend, restyle).",
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    engine = models.CharField(max_length=64)
    mode = models.CharField(max_length=32)
    recipe = models.JSONField(help_text="The resolved GenerationRequest, seed included.")
    notes = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    cancel_requested = models.BooleanField(default=False)
    dismissed = models.BooleanField(
        default=False, help_text="A failed or cancelled card the user has put away."
    )
    variant_group = models.UUIDField(
        null=True,
        blank=True,
        editable=False,
        help_text="Shared by the runs of one prompt-form submit (its variants), which the "
        "project page shows side by side.",
    )
    queued_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When it entered the RQ queue; queued rows without it wait their team's turn.",
    )
    engine_seconds = models.FloatField(
        default=0.0, help_text="Wall time the engine ran, as the worker measured it."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = GenerationQuerySet.as_manager()

    class Meta:
        ordering = ["-queued_at"]
        indexes = [
            models.Index(fields=["status"]),
            # The job list (active and recently failed runs) and the API's keyset pages:
            # both read one project's rows in order without touching the others.
            models.Index(fields=["project", "status", "finished_at"], name="gen_project_status"),
            models.Index(fields=["project", "queued_at", "id"], name="gen_project_queued"),
            models.Index(fields=["queued_at", "id"], name="gen_queued"),
            models.Index(fields=["project", "started_at"]),
            models.Index(fields=["project", "variant_group"], name="gen_project_variants"),
        ]

    def __str__(self) -> str:
        return f"{self.engine} {self.mode} {self.status}"

    @property
    def resumable_segments(self) -> int | None:
        """For a failed long video: the saved segments a resume reuses (0 or more); else None."""
        from studio.jobs.services import generation_chains, generation_saved_segments

        if self.status != self.Status.FAILED or not generation_chains(self):
            return None
        return generation_saved_segments(self)

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def mode_label(self) -> str:
        from generation.spec import MODE_LABELS

        return MODE_LABELS.get(self.mode, self.mode)

    @property
    def lineage_label(self) -> str:
        """How this run relates to its source clip: a remix re-runs a prompt, others transform."""
        if self.source_clip_id and self.mode in ("text_to_video", "image_to_video"):
            return "Remix"
        return self.mode_label

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        return int(100 * self.step / self.total_steps) if self.total_steps else 0

    @property
    def eta_seconds(self) -> float | None:
        if self.status != self.Status.RUNNING or not self.started_at or not self.step:
            return None
        from django.utils import timezone

        elapsed = (timezone.now() - self.started_at).total_seconds()
        return max(0.0, elapsed / self.step * (self.total_steps - self.step))

    @property
    def group_name(self) -> str:
        return f"project-{self.project_id}"

    @property
    def input_names(self) -> list[str]:
        """Storage names of the files this run reads (input image, last image, source video)."""
        recipe = self.recipe or {}
        return [n for k in INPUT_FIELDS if isinstance(n := recipe.get(k), str) and n]


class Clip(models.Model):
    """A finished video; `parent_clip` records lineage (extend, upscale, restyle, remix)."""

    generation = models.OneToOneField(Generation, on_delete=models.CASCADE, related_name="clip")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="clips")
    file = models.FileField(upload_to="clips/")
    poster = models.FileField(upload_to="clips/")
    spritesheet = models.FileField(
        upload_to="clips/", blank=True, help_text="A 4×4 grid of frames; drawn on first request."
    )
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    fps = models.FloatField()
    num_frames = models.PositiveIntegerField()
    frames_sha256 = models.CharField(
        max_length=64, blank=True, help_text="Digest of the raw frames, before lossy encoding."
    )
    parent_clip = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True)
    credentials = models.JSONField(
        default=dict,
        blank=True,
        help_text="Its Content Credentials (C2PA manifest) as read back when it was stored.",
    )
    title = models.CharField(max_length=120, blank=True, help_text="Blank: the prompt.")
    favourite = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    hidden_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when a moderator hides the clip from its team."
    )

    objects = ClipQuerySet.as_manager()

    class Meta:
        # The table kept its name when the model moved here from the gallery app.
        db_table = "gallery_clip"
        ordering = ["-created_at"]
        # Gallery pages walk this index newest first (keyset pagination), at any depth.
        indexes = [
            models.Index(fields=["project", "created_at", "id"], name="clip_project_created"),
            # Counting a project's visible clips reads this index alone.
            models.Index(fields=["project", "hidden_at"], name="clip_project_hidden"),
            # The few hidden clips, found without reading every clip (`shown_to` on runs).
            models.Index(
                fields=["hidden_at"],
                condition=models.Q(hidden_at__isnull=False),
                name="clip_hidden",
            ),
        ]

    def __str__(self) -> str:
        return f"Clip {self.pk} ({self.width}×{self.height}, {self.num_frames} frames)"

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps if self.fps else 0.0

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def thumbnail_name(self) -> str:
        """Where the gallery's small poster lives (drawn on first request), beside the poster."""
        stem, _, _ = self.poster.name.rpartition(".")
        return f"{stem}-thumb.jpg" if stem else ""

    @property
    def file_names(self) -> list[str]:
        """Every stored file of this clip, as storage names."""
        return [f.name for f in (self.file, self.poster, self.spritesheet) if f]
