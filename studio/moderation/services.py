"""Moderation writes: the prompt policy, reports, and staff actions with their audit entries."""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from generation.spec import GenerationError
from studio.jobs.live import broadcast_clip_removed, broadcast_generation
from studio.jobs.models import Clip
from studio.projects.models import Project

from .models import AuditEntry, PolicyAttempt, PolicyCategory, PolicyRule, Report
from .policy import Rule, first_match


class ModerationError(Exception):
    """An action a moderator asked for that cannot be done; the message says why."""


def _active_rules() -> list[Rule]:
    rows = PolicyRule.objects.filter(active=True).select_related("category").order_by("pk")
    return [Rule(r.pk, r.kind, r.pattern, r.category.name) for r in rows]


def prompt_policy_check(
    *, user: User | None, project: Project | None, prompt: str, negative_prompt: str = ""
) -> None:
    """Refuse a prompt (or negative prompt) that breaks the policy, and log the attempt.

    Call it before the transaction that records the run: the attempt is written at once,
    so it stays logged although the submit fails. Raise GenerationError naming the
    category, on the field at fault, so forms and the API show it like any other error.
    """
    rules = _active_rules()
    if not rules:
        return
    for field, text in (("prompt", prompt), ("negative_prompt", negative_prompt)):
        rule = first_match(text or "", rules) if text else None
        if rule is None:
            continue
        PolicyAttempt.objects.create(
            user=user if user is not None and user.is_authenticated else None,
            project=project,
            rule_id=rule.id,
            category=rule.category,
            pattern=rule.pattern,
            field=field,
            text=text,
        )
        what = "prompt" if field == "prompt" else "negative prompt"
        raise GenerationError(
            f"This {what} is not allowed here: it falls under the content policy's "
            f"“{rule.category}” category. Rephrase it and try again.",
            field=field,
            code="prompt_blocked",
        )


def _audit(
    *, actor: User, action: str, target, target_type: str, reason: str, clip_id=None
) -> AuditEntry:
    reason = (reason or "").strip()
    if not reason:
        raise ModerationError("Give a reason: every moderation action is logged with one.")
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=actor.get_username(),
        action=action,
        target_type=target_type,
        target_id=str(target.pk),
        target_label=str(target)[:200],
        clip_id_ref=clip_id,
        reason=reason,
    )


@transaction.atomic
def policy_rule_add(
    *, actor: User, category_name: str, kind: str, pattern: str, reason: str
) -> PolicyRule:
    category, _ = PolicyCategory.objects.get_or_create(name=category_name.strip())
    rule = PolicyRule.objects.create(
        category=category, kind=kind, pattern=pattern.strip(), created_by=actor
    )
    _audit(actor=actor, action="policy.add", target=rule, target_type="rule", reason=reason)
    return rule


@transaction.atomic
def policy_rule_remove(*, actor: User, rule: PolicyRule, reason: str) -> None:
    _audit(actor=actor, action="policy.remove", target=rule, target_type="rule", reason=reason)
    rule.delete()


def report_create(*, clip: Clip, user: User, reason: str, note: str = "") -> Report:
    """File a report; the same member reporting the same clip again adds to the pending one."""
    pending = Report.objects.filter(clip=clip, reporter=user, status=Report.Status.PENDING).first()
    if pending is not None:
        pending.reason, pending.note = reason, note.strip()
        pending.save(update_fields=["reason", "note"])
        return pending
    return Report.objects.create(clip=clip, reporter=user, reason=reason, note=note.strip())


def _clip_audit(actor: User, action: str, clip: Clip, reason: str) -> AuditEntry:
    return _audit(
        actor=actor, action=action, target=clip, target_type="clip", reason=reason, clip_id=clip.pk
    )


@transaction.atomic
def clip_hide(*, actor: User, clip: Clip, reason: str) -> Clip:
    """Hide a clip from everyone but staff, and take it off its project's open pages."""
    if clip.hidden_at is not None:
        raise ModerationError(f"Clip {clip.pk} is already hidden.")
    _clip_audit(actor, "clip.hide", clip, reason)
    clip.hidden_at = timezone.now()
    clip.save(update_fields=["hidden_at"])
    transaction.on_commit(lambda: broadcast_clip_removed(clip))
    return clip


@transaction.atomic
def clip_restore(*, actor: User, clip: Clip, reason: str) -> Clip:
    if clip.hidden_at is None:
        raise ModerationError(f"Clip {clip.pk} is not hidden.")
    _clip_audit(actor, "clip.restore", clip, reason)
    clip.hidden_at = None
    clip.save(update_fields=["hidden_at"])
    transaction.on_commit(lambda: broadcast_generation(clip.generation))
    return clip


@transaction.atomic
def user_suspend(*, actor: User, user: User, reason: str, clip: Clip | None = None) -> User:
    """Suspend an account: it can no longer log in, and its sessions and API keys stop working."""
    if user.pk == actor.pk:
        raise ModerationError("You cannot suspend yourself.")
    if not user.is_active:
        raise ModerationError(f"{user.get_username()} is already suspended.")
    _audit(
        actor=actor,
        action="user.suspend",
        target=user,
        target_type="user",
        reason=reason,
        clip_id=clip.pk if clip else None,
    )
    user.is_active = False
    user.save(update_fields=["is_active"])
    return user


@transaction.atomic
def user_reinstate(*, actor: User, user: User, reason: str, clip: Clip | None = None) -> User:
    if user.is_active:
        raise ModerationError(f"{user.get_username()} is not suspended.")
    _audit(
        actor=actor,
        action="user.reinstate",
        target=user,
        target_type="user",
        reason=reason,
        clip_id=clip.pk if clip else None,
    )
    user.is_active = True
    user.save(update_fields=["is_active"])
    return user


@transaction.atomic
def report_close(*, actor: User, report: Report, reason: str, dismiss: bool = False) -> Report:
    """Resolve (acted on) or dismiss (nothing wrong) a pending report."""
    if report.status != Report.Status.PENDING:
        raise ModerationError(f"Report {report.pk} is already {report.get_status_display()}.")
    action = "report.dismiss" if dismiss else "report.resolve"
    _audit(
        actor=actor,
        action=action,
        target=report,
        target_type="report",
        reason=reason,
        clip_id=report.clip_id,
    )
    report.status = Report.Status.DISMISSED if dismiss else Report.Status.RESOLVED
    report.closed_by, report.closed_at = actor, timezone.now()
    report.save(update_fields=["status", "closed_by", "closed_at"])
    return report


def project_review_open(*, actor: User, project: Project, reason: str) -> AuditEntry:
    """Record that a moderator opened a project they are not a member of."""
    return _audit(
        actor=actor, action="project.review", target=project, target_type="project", reason=reason
    )
