"""The workspace: the project list and the project page, which brings prompt, jobs and gallery together."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from generation.spec import GenerationError
from studio.jobs.models import Clip, Generation
from studio.jobs.recipes import add_form_error
from studio.projects.access import get_project_for_user
from studio.projects.models import Project
from studio.projects.services import project_create
from studio.prompts.forms import PromptForm
from studio.prompts.services import prompt_submit
from studio.teams.selectors import role_allows
from studio.workspace.forms import ProjectForm

CLIPS_PER_PAGE = 12


@login_required
@require_http_methods(["GET", "POST"])
def project_list(request):
    form = ProjectForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        project = project_create(
            team=form.cleaned_data["team"], name=form.cleaned_data["name"], user=request.user
        )
        return redirect("project-detail", pk=project.pk)
    projects = (
        Project.objects.filter(team__memberships__user=request.user)
        .select_related("team")
        .annotate(
            clip_count=Count(
                "clips",
                distinct=True,
                filter=Q(clips__in=Clip.objects.shown_to(request.user)),
            )
        )
        .order_by("-last_activity_at")
    )
    return render(request, "workspace/list.html", {"projects": projects, "form": form})


@login_required
def project_detail(request, pk: int):
    project = get_project_for_user(request.user, pk)
    if request.htmx and request.GET.get("page"):
        page = _gallery_page(request, project, request.GET.get("page"))
        return render(request, "workspace/detail.html#gallery", {"project": project, "page": page})
    return project_page(request, project, PromptForm())


def _gallery_page(request, project, number):
    clips = (
        Clip.objects.shown_to(request.user)
        .filter(project=project)
        .select_related("generation__prompt", "generation__requested_by")
        .order_by("-created_at", "-pk")
    )
    return Paginator(clips, CLIPS_PER_PAGE).get_page(number)


def project_page(request, project, form, *, status: int = 200):
    """The whole project page; a failed submit without JavaScript shows it with the form's errors."""
    # Running and queued jobs, and the last day's failures so their reasons stay visible.
    recent = timezone.now() - timedelta(days=1)
    active = (
        Generation.objects.filter(project=project, clip__isnull=True)
        .filter(Q(status__in=Generation.ACTIVE) | Q(finished_at__gte=recent))
        .select_related("prompt", "requested_by")
        .order_by("-queued_at")[:20]
    )
    context = {
        "project": project,
        "page": _gallery_page(request, project, request.GET.get("page")),
        "active": active,
        "form": form,
        "can_edit": role_allows(project.user_role, "editor"),
    }
    return render(request, "workspace/detail.html", context, status=status)


@login_required
@require_POST
def generate(request, pk: int):
    project = get_project_for_user(request.user, pk, role="editor")
    form = PromptForm(request.POST, request.FILES)
    generation = None
    if form.is_valid():
        try:
            generation = prompt_submit(project=project, user=request.user, data=form.cleaned_data)
        except GenerationError as e:
            add_form_error(form, e, "prompt_form")
    if not request.htmx:
        if generation is not None:
            return redirect("project-detail", pk=project.pk)
        return project_page(request, project, form, status=400)
    # htmx swaps the form (with its errors, if any) in place, so this answers 200 either way.
    context = {"project": project, "form": form, "new_generation": generation}
    return render(request, "workspace/detail.html#prompt-form", context)
