"""Storyboards: a project's sequences of shots, each with its takes and the one the edit uses."""

from django.conf import settings
from django.db import models

from generation.edit import EXPORT_FORMATS, EXPORT_FPS, FITS, TRANSITIONS
from studio.jobs.models import Generation
from studio.projects.models import Project


class Storyboard(models.Model):
    """A sequence of shots sharing an engine, a look and a seed policy, and how it exports."""

    class SeedPolicy(models.TextChoices):
        SAME = "same", "The same seed for every shot"
        STEP = "step", "The seed plus the shot's number"
        RANDOM = "random", "A new random seed per take"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="storyboards")
    name = models.CharField(max_length=120)
    engine = models.CharField(max_length=64)
    style_preset = models.CharField(max_length=32, blank=True)
    negative_text = models.TextField(max_length=2000, blank=True)
    aspect_ratio = models.CharField(max_length=8, default="16:9")
    resolution = models.PositiveIntegerField(default=512, help_text="Long side in pixels.")
    fps = models.PositiveIntegerField(default=16)
    seed = models.BigIntegerField(default=0)
    seed_policy = models.CharField(max_length=8, choices=SeedPolicy.choices, default="same")
    title_text = models.CharField(max_length=120, blank=True, help_text="Title card; blank: none.")
    end_text = models.CharField(max_length=120, blank=True, help_text="End card; blank: none.")
    export_format = models.CharField(
        max_length=16,
        default="landscape",
        choices=[(f.key, f.label) for f in EXPORT_FORMATS.values()],
    )
    export_fps = models.PositiveSmallIntegerField(
        default=30, choices=[(f, f"{f} fps") for f in EXPORT_FPS]
    )
    export_fit = models.CharField(
        max_length=8, default="pad", choices=[(f, f.capitalize()) for f in FITS]
    )
    export_scaler = models.CharField(
        max_length=10,
        default="lanczos",
        choices=[
            ("lanczos", "Lanczos (fast)"),
            ("auto", "The upscaler where a shot grows 2× or more (slow on a CPU)"),
        ],
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def group_name(self) -> str:
        return f"project-{self.project_id}"


class Shot(models.Model):
    """One shot: what it shows (words and/or an image), how long, how the camera moves,
    how it joins the shot before, and which take the edit uses."""

    storyboard = models.ForeignKey(Storyboard, on_delete=models.CASCADE, related_name="shots")
    position = models.PositiveIntegerField(default=0)
    description = models.TextField(max_length=2000, blank=True)
    image = models.FileField(upload_to="storyboards/%Y/%m/", blank=True)
    duration_s = models.FloatField(default=2.0)
    camera_motion = models.CharField(max_length=32, default="static")
    style_preset = models.CharField(max_length=32, blank=True, help_text="Blank: the board's.")
    transition = models.CharField(
        max_length=10, default="cut", choices=[(t, t.capitalize()) for t in TRANSITIONS]
    )
    transition_s = models.FloatField(default=0.5)
    trim_in = models.FloatField(default=0.0)
    trim_out = models.FloatField(null=True, blank=True)
    on_screen_text = models.CharField(max_length=120, blank=True)
    continue_previous = models.BooleanField(
        default=False, help_text="Start from the last frame of the previous shot's take."
    )
    waiting_for_previous = models.BooleanField(default=False)
    chosen = models.ForeignKey(
        Generation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"Shot {self.position + 1}: {self.description[:40]}"

    @property
    def number(self) -> int:
        return self.position + 1


class Take(models.Model):
    """A generation made for a shot; a shot keeps every take until the user deletes it."""

    shot = models.ForeignKey(Shot, on_delete=models.CASCADE, related_name="takes")
    generation = models.OneToOneField(
        Generation, on_delete=models.CASCADE, related_name="storyboard_take"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Take {self.generation_id} of shot {self.shot_id}"
