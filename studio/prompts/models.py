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
    engine = models.CharField(max_length=64)
    image = models.FileField(upload_to="inputs/%Y/%m/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text[:60]
