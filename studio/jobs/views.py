from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from generation.spec import GenerationError
from studio.jobs.models import Generation
from studio.jobs.services import generation_cancel
from studio.projects.access import check_project_access, get_project_for_user
from studio.projects.views import project_page
from studio.prompts.forms import PromptForm
from studio.prompts.recipes import FIELD_FOR
from studio.prompts.services import prompt_submit


def _get_generation_for_user(request, pk, *, role: str = "viewer") -> Generation:
    generation = Generation.objects.select_related("project__team", "prompt").filter(pk=pk).first()
    if generation is None:
        raise Http404("No such generation.")
    check_project_access(request.user, generation.project, role=role)
    return generation


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
            field = FIELD_FOR.get(e.field or "")
            form.add_error(field if field in form.fields else None, e.message)
    if not request.htmx:
        if generation is not None:
            return redirect("project-detail", pk=project.pk)
        return project_page(request, project, form, status=400)
    # htmx swaps the form (with its errors, if any) in place, so this answers 200 either way.
    context = {"project": project, "form": form, "new_generation": generation}
    return render(request, "projects/detail.html#prompt-form", context)


@login_required
@require_http_methods(["GET"])
def generation_detail(request, pk):
    generation = _get_generation_for_user(request, pk)
    if request.htmx:
        return render(request, "jobs/generation.html#card", {"g": generation})
    return render(request, "jobs/generation.html", {"g": generation, "project": generation.project})


@login_required
@require_POST
def generation_cancel_view(request, pk):
    generation = _get_generation_for_user(request, pk, role="editor")
    generation = generation_cancel(generation=generation)
    if request.htmx:
        return render(request, "jobs/generation.html#card", {"g": generation})
    return redirect("project-detail", pk=generation.project_id)
