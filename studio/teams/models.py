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


class Invitation(models.Model):
    """An invitation to join a team: a link (its token stored only as a hash) or a named user.

    A link may be used `max_uses` times before `expires_at`; a user's invitation waits for
    that user to accept or decline it. Owners revoke either at any time.
    """

    ROLES = ((Membership.Role.EDITOR, "Editor"), (Membership.Role.VIEWER, "Viewer"))

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=10, choices=ROLES, default=Membership.Role.EDITOR)
    token_digest = models.CharField(
        max_length=64, unique=True, null=True, blank=True, help_text="SHA-256 of a link's token."
    )
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="invitations",
        help_text="Blank for an invitation link.",
    )
    max_uses = models.PositiveIntegerField(default=1)
    use_count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        who = self.invitee or "link"
        return f"{who} to {self.team} as {self.role}"

    @property
    def is_link(self) -> bool:
        return self.invitee_id is None

    @property
    def status(self) -> str:
        from django.utils import timezone

        if self.revoked_at:
            return "revoked"
        if self.declined_at:
            return "declined"
        if self.use_count >= self.max_uses:
            return "used" if self.is_link else "accepted"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"

    @property
    def is_pending(self) -> bool:
        return self.status == "pending"
