"""Prompt policy, reports on clips and the moderators' audit log."""

from django.conf import settings
from django.db import models

from studio.jobs.models import Clip
from studio.projects.models import Project


class PolicyCategory(models.Model):
    """What a group of rules is about; a blocked prompt is told the category, not the rule."""

    name = models.CharField(max_length=60, unique=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "policy categories"

    def __str__(self) -> str:
        return self.name


class PolicyRule(models.Model):
    class Kind(models.TextChoices):
        TERM = "term", "Term"
        REGEX = "regex", "Regular expression"

    category = models.ForeignKey(PolicyCategory, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TERM)
    pattern = models.CharField(
        max_length=300,
        help_text="A term matches whole words, ignoring case; a regular expression (Python "
        "syntax) is searched anywhere, ignoring case.",
    )
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["category__name", "pattern"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pattern!r} ({self.category})"


class PolicyAttempt(models.Model):
    """A prompt the policy blocked: who, when, which rule, and what they wrote."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    project = models.ForeignKey(Project, on_delete=models.SET_NULL, null=True, blank=True)
    rule = models.ForeignKey(PolicyRule, on_delete=models.SET_NULL, null=True, blank=True)
    category = models.CharField(max_length=60, help_text="The rule's category at the time.")
    pattern = models.CharField(max_length=300, help_text="The rule's pattern at the time.")
    field = models.CharField(max_length=20, default="prompt")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Blocked {self.field} ({self.category}) by {self.user or 'someone'}"


class Report(models.Model):
    class Reason(models.TextChoices):
        SEXUAL = "sexual", "Sexual content"
        VIOLENCE = "violence", "Violence or gore"
        HATE = "hate", "Hate or harassment"
        REAL_PERSON = "real_person", "Depicts a real person without consent"
        COPYRIGHT = "copyright", "Copyright or trademark"
        OTHER = "other", "Something else"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.TextField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"Report {self.pk} on clip {self.clip_id} ({self.status})"


class AppendOnlyError(Exception):
    """The audit log keeps every entry as written."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit entries cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Audit entries cannot be deleted.")


class AuditEntry(models.Model):
    """One moderator action: who, when, what, on what, and why. Written once, never changed.

    Targets are kept as ids and a label, not foreign keys, so deleting a clip, project or
    user never rewrites (or takes away) the record of what was done to it.
    """

    class Action(models.TextChoices):
        CLIP_HIDE = "clip.hide", "Hid clip"
        CLIP_RESTORE = "clip.restore", "Restored clip"
        USER_SUSPEND = "user.suspend", "Suspended user"
        USER_REINSTATE = "user.reinstate", "Reinstated user"
        REPORT_RESOLVE = "report.resolve", "Resolved report"
        REPORT_DISMISS = "report.dismiss", "Dismissed report"
        PROJECT_REVIEW = "project.review", "Opened project for review"
        POLICY_ADD = "policy.add", "Added policy rule"
        POLICY_REMOVE = "policy.remove", "Removed policy rule"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=20, choices=Action.choices)
    target_type = models.CharField(max_length=20)
    target_id = models.CharField(max_length=40)
    target_label = models.CharField(max_length=200)
    clip_id_ref = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    reason = models.TextField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.actor_name} {self.get_action_display()} {self.target_label}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit entries cannot be deleted.")
