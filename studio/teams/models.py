from django.conf import settings
from django.db import models


class Team(models.Model):
    """A workspace: projects belong to teams, people belong to teams through Membership."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=120, unique=True)
    personal = models.BooleanField(default=False)
    ai_mark = models.BooleanField(
        "visible AI mark",
        default=False,
        help_text="Burn a small “AI-generated” label into the corner of this team's clips.",
    )
    monthly_engine_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Engine-seconds this team may use per calendar month; blank: the studio "
        "default (STUDIO_TEAM_MONTHLY_ENGINE_SECONDS), 0: no limit.",
    )
    max_concurrent_jobs = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Jobs queued or running at once; blank: the studio default "
        "(STUDIO_TEAM_MAX_CONCURRENT_JOBS), 0: no limit.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        EDITOR = "editor", "Editor"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


WRITER_ROLES = (Membership.Role.OWNER, Membership.Role.EDITOR)
ROLE_RANK = {Membership.Role.VIEWER: 0, Membership.Role.EDITOR: 1, Membership.Role.OWNER: 2}
