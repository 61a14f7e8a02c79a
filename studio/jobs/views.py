from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from studio.jobs.models import Generation
from studio.jobs.services import generation_cancel
from studio.projects.access import check_project_access


def _get_generation_for_user(request, pk, *, role: str = "viewer") -> Generation:
    generation = (
        Generation.objects.shown_to(request.user)
        .select_related("project__team", "prompt", "requested_by")
        .filter(pk=pk)
        .first()
    )
    if generation is None:
        raise Http404("No such generation.")
    check_project_access(request.user, generation.project, role=role)
    return generation


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
