"""The moderators' area: the report queue, hidden clips, the prompt policy, the audit log and
read-only review of any project. Staff only; everyone else gets a 404."""

from collections import defaultdict
from contextlib import suppress
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from studio import media
from studio.jobs.models import Clip, Generation
from studio.projects.access import check_project_access
from studio.projects.models import Project

from . import services
from .forms import ActionForm, PolicyRuleForm, ReasonForm, ReportForm
from .models import AuditEntry, PolicyAttempt, PolicyCategory, PolicyRule, Report


def staff_required(view):
    """Log in first; then anyone but staff is told there is nothing here."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapped


# ---- Reporting, for members ------------------------------------------------------------


@login_required
@require_POST
def clip_report(request, pk: int):
    clip = Clip.objects.shown_to(request.user).select_related("project__team").filter(pk=pk)
    clip = clip.first()
    if clip is None:
        raise Http404("No such clip.")
    check_project_access(request.user, clip.project, role="viewer")
    form = ReportForm(request.POST)
    report = None
    if form.is_valid():
        report = services.report_create(
            clip=clip,
            user=request.user,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        )
    if request.htmx:
        context = {"clip": clip, "report_form": form, "report": report}
        return render(request, "moderation/_report.html", context)
    if report is None:
        return render(
            request, "moderation/_report.html", {"clip": clip, "report_form": form}, status=400
        )
    return redirect("clip-detail", pk=clip.pk)


# ---- The queue -------------------------------------------------------------------------


def _clip_items(clips) -> list[dict]:
    """Each clip with its reports and its moderation history, in three queries."""
    clips = list(
        clips.select_related(
            "generation__prompt", "generation__requested_by", "project__team"
        ).prefetch_related("reports__reporter")
    )
    history = defaultdict(list)
    for entry in AuditEntry.objects.filter(clip_id_ref__in=[c.pk for c in clips]):
        history[entry.clip_id_ref].append(entry)
    return [_item(c, history[c.pk]) for c in clips]


def action_form(clip: Clip, data=None) -> ActionForm:
    """Each clip's form has its own element ids, many being on one page."""
    return ActionForm(data, auto_id=f"clip{clip.pk}-%s")


def _item(clip: Clip, history: list[AuditEntry], form: ActionForm | None = None) -> dict:
    reports = list(clip.reports.all())
    return {
        "clip": clip,
        "g": clip.generation,
        "author": clip.generation.requested_by,
        "reports": reports,
        "pending": [r for r in reports if r.status == Report.Status.PENDING],
        "history": history,
        "form": form or action_form(clip),
    }


def _tabs(request) -> dict:
    return {
        "pending_count": Clip.objects.filter(reports__status=Report.Status.PENDING)
        .distinct()
        .count(),
        "hidden_count": Clip.objects.filter(hidden_at__isnull=False).count(),
    }


@staff_required
def queue(request):
    show_hidden = request.GET.get("show") == "hidden"
    if show_hidden:
        clips = Clip.objects.filter(hidden_at__isnull=False).order_by("-hidden_at")
    else:
        oldest = Count("reports", filter=Q(reports__status=Report.Status.PENDING))
        clips = (
            Clip.objects.filter(reports__status=Report.Status.PENDING)
            .annotate(pending_count=oldest)
            .order_by("-pending_count", "pk")
            .distinct()
        )
    page = Paginator(clips, 20).get_page(request.GET.get("page"))
    context = {
        "items": _clip_items(Clip.objects.filter(pk__in=[c.pk for c in page.object_list])),
        "page": page,
        "show_hidden": show_hidden,
        "tab": "hidden" if show_hidden else "queue",
        **_tabs(request),
    }
    order = {c.pk: i for i, c in enumerate(page.object_list)}
    context["items"].sort(key=lambda item: order[item["clip"].pk])
    return render(request, "moderation/queue.html", context)


@staff_required
@require_POST
def clip_act(request, pk: int):
    """Hide or restore a clip, suspend or reinstate its author, or close its pending reports."""
    clip = get_object_or_404(Clip, pk=pk)
    form = action_form(clip, request.POST)
    error = ""
    if form.is_valid():
        action, reason = form.cleaned_data["action"], form.cleaned_data["reason"]
        author = clip.generation.requested_by
        try:
            if action == "hide":
                services.clip_hide(actor=request.user, clip=clip, reason=reason)
            elif action == "restore":
                services.clip_restore(actor=request.user, clip=clip, reason=reason)
            elif author is None:
                raise services.ModerationError("The clip's author no longer has an account.")
            elif action == "suspend":
                services.user_suspend(actor=request.user, user=author, reason=reason, clip=clip)
            elif action == "reinstate":
                services.user_reinstate(actor=request.user, user=author, reason=reason, clip=clip)
            if action in ("resolve", "dismiss"):
                pending = clip.reports.filter(status=Report.Status.PENDING)
                if not pending:
                    raise services.ModerationError("This clip has no pending reports.")
                for report in pending:
                    services.report_close(
                        actor=request.user,
                        report=report,
                        reason=reason,
                        dismiss=action == "dismiss",
                    )
        except services.ModerationError as e:
            error = str(e)
        else:
            form = action_form(clip)  # Done: an empty reason box for the next action.
    if not request.htmx:
        if form.is_bound:
            return _item_page(request, clip, form, error)
        return redirect("moderation-queue")
    item = _clip_items(Clip.objects.filter(pk=clip.pk))[0]
    item.update(form=form, error=error, done=not form.is_bound)
    return render(request, "moderation/queue.html#item", {"item": item})


def _item_page(request, clip, form, error):
    item = _clip_items(Clip.objects.filter(pk=clip.pk))[0]
    item.update(form=form, error=error)
    context = {"items": [item], "tab": "queue", **_tabs(request)}
    return render(request, "moderation/queue.html", context, status=400)


@staff_required
def clip_video(request, pk: int):
    return media.serve(request, get_object_or_404(Clip, pk=pk).file.name)


@staff_required
def clip_poster(request, pk: int):
    return media.serve(request, get_object_or_404(Clip, pk=pk).poster.name)


# ---- Policy ----------------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def policy(request):
    form = PolicyRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.policy_rule_add(
            actor=request.user,
            category_name=form.cleaned_data["category"],
            kind=form.cleaned_data["kind"],
            pattern=form.cleaned_data["pattern"],
            reason=form.cleaned_data["reason"],
        )
        return redirect("moderation-policy")
    context = {
        "form": form,
        "categories": PolicyCategory.objects.prefetch_related("rules").order_by("name"),
        "attempts": PolicyAttempt.objects.select_related("user", "project")[:50],
        "tab": "policy",
        **_tabs(request),
    }
    return render(request, "moderation/policy.html", context, status=400 if form.errors else 200)


@staff_required
@require_POST
def policy_rule_remove(request, pk: int):
    rule = get_object_or_404(PolicyRule, pk=pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        services.policy_rule_remove(
            actor=request.user, rule=rule, reason=form.cleaned_data["reason"]
        )
    return redirect("moderation-policy")


# ---- Audit log and review --------------------------------------------------------------


@staff_required
def audit(request):
    entries = AuditEntry.objects.select_related("actor")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(
        request, "moderation/audit.html", {"page": page, "tab": "audit", **_tabs(request)}
    )


@staff_required
def projects(request):
    q = request.GET.get("q", "").replace("\x00", "").strip()  # No text column holds NUL.
    found = Project.objects.select_related("team").order_by("-last_activity_at")
    if q:
        found = found.filter(Q(name__icontains=q) | Q(team__name__icontains=q))
    context = {"projects": found[:50], "q": q, "tab": "projects", **_tabs(request)}
    context["suspended"] = User.objects.filter(is_active=False).order_by("username")[:50]
    return render(request, "moderation/projects.html", context)


@staff_required
def project_review(request, pk: int):
    """Any project, read-only, for staff; every opening is written to the audit log."""
    project = get_object_or_404(Project.objects.select_related("team"), pk=pk)
    form = ReasonForm(request.GET if "reason" in request.GET else None)
    if not form.is_valid():
        context = {"project": project, "form": form, "tab": "projects", **_tabs(request)}
        return render(request, "moderation/review_reason.html", context)
    services.project_review_open(
        actor=request.user, project=project, reason=form.cleaned_data["reason"]
    )
    clips = Clip.objects.filter(project=project)
    context = {
        "project": project,
        "reason": form.cleaned_data["reason"],
        "members": project.team.memberships.select_related("user").order_by("role"),
        "items": _clip_items(clips.order_by("-created_at")[:60]),
        "jobs": Generation.objects.filter(project=project, clip__isnull=True)
        .select_related("prompt", "requested_by")
        .order_by("-queued_at")[:30],
        "tab": "projects",
        **_tabs(request),
    }
    return render(request, "moderation/review.html", context)


@staff_required
@require_POST
def user_reinstate(request, pk: int):
    user = get_object_or_404(User, pk=pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        # Already active: nothing to do, and the list shows it.
        with suppress(services.ModerationError):
            services.user_reinstate(
                actor=request.user, user=user, reason=form.cleaned_data["reason"]
            )
    return redirect("moderation-projects")
