from django.db import models

from studio.jobs.models import Generation
from studio.projects.models import Project


class Clip(models.Model):
    """A finished video; `parent_clip` records lineage (extend, upscale, restyle, remix)."""

    generation = models.OneToOneField(Generation, on_delete=models.CASCADE, related_name="clip")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="clips")
    file = models.FileField(upload_to="clips/")
    poster = models.FileField(upload_to="clips/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    fps = models.FloatField()
    num_frames = models.PositiveIntegerField()
    frames_sha256 = models.CharField(
        max_length=64, blank=True, help_text="Digest of the raw frames, before lossy encoding."
    )
    parent_clip = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Clip {self.pk} ({self.width}×{self.height}, {self.num_frames} frames)"

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps if self.fps else 0.0
