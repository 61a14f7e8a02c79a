"""The workspace: the project list and the project page, which brings prompt, jobs and gallery together."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from generation.spec import GenerationError
from studio.gallery.services import BadCursor, gallery_page
from studio.jobs.models import Clip
from studio.jobs.recipes import add_form_error
from studio.jobs.selectors import active_generations
from studio.projects.access import get_project_for_user
from studio.projects.models import Project
from studio.projects.services import project_create
from studio.prompts.forms import PromptForm
from studio.prompts.services import prompt_submit
from studio.teams.selectors import role_allows
from studio.workspace.forms import ProjectForm


@login_required
@require_http_methods(["GET", "POST"])
def project_list(request):
    form = ProjectForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        project = project_create(
            team=form.cleaned_data["team"], name=form.cleaned_data["name"], user=request.user
        )
        return redirect("project-detail", pk=project.pk)
    # A count per project on the clip index, instead of joining and grouping every clip.
    clip_count = (
        Clip.objects.shown_to(request.user)
        .filter(project=OuterRef("pk"))
        .order_by()
        .values("project")
    )
    projects = (
        Project.objects.filter(team__memberships__user=request.user)
        .select_related("team")
        .annotate(clip_count=Coalesce(Subquery(clip_count.annotate(n=Count("pk")).values("n")), 0))
        .order_by("-last_activity_at")
    )
    return render(request, "workspace/list.html", {"projects": projects, "form": form})


@login_required
def project_detail(request, pk: int):
    project = get_project_for_user(request.user, pk)
    if request.htmx and request.GET.get("after"):  # "Load more": the next clips alone.
        try:
            page = gallery_page(_clips(request, project), after=request.GET["after"])
        except BadCursor as e:
            return HttpResponseBadRequest(str(e))
        return render(
            request, "workspace/detail.html#gallery-page", {"project": project, "page": page}
        )
    return project_page(request, project, PromptForm())


def _clips(request, project):
    """The project's clips this user may see (hidden ones only for staff)."""
    return Clip.objects.shown_to(request.user).filter(project=project)


def project_page(request, project, form, *, status: int = 200):
    """The whole project page; a failed submit without JavaScript shows it with the form's errors."""
    try:
        page = gallery_page(_clips(request, project), after=request.GET.get("after"))
    except BadCursor as e:
        return HttpResponseBadRequest(str(e))
    context = {
        "project": project,
        "page": page,
        "active": active_generations(project),
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
