from django.conf import settings
from django.db import models

from studio.projects.models import Project
from studio.teams.models import Team


class ApiKey(models.Model):
    """A bearer key for the /v1 API, acting as its creator inside one team (or one project).

    Only a SHA-256 digest is stored: keys are 256-bit random, so a fast hash is enough
    and lets a request find its key with one indexed lookup.
    """

    PREFIX = "sk-studio-"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="api_keys")
    project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_keys",
        help_text="Blank: every project of the team.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(
        max_length=24, help_text="The first characters, shown to tell keys apart."
    )
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table kept its name when the model moved here from the teams app.
        db_table = "teams_apikey"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
