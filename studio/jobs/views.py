from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from generation.spec import GenerationError
from studio.jobs.live import preview_load, preview_url
from studio.jobs.models import Generation
from studio.jobs.services import generation_cancel, generation_resume
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
    context = {"g": generation, "preview": preview_url(generation)}
    if request.htmx:
        return render(request, "jobs/generation.html#card", context)
    return render(request, "jobs/generation.html", {**context, "project": generation.project})


@login_required
@require_http_methods(["GET"])
def generation_preview(request, pk):
    """The running job's latest frame; its URL changes with each new one, so it may be cached."""
    generation = _get_generation_for_user(request, pk)
    found = preview_load(generation.pk)
    if found is None:
        raise Http404("No preview for this generation.")
    response = HttpResponse(found[1], content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_POST
def generation_cancel_view(request, pk):
    generation = _get_generation_for_user(request, pk, role="editor")
    generation = generation_cancel(generation=generation)
    if request.htmx:
        return render(request, "jobs/generation.html#card", {"g": generation})
    return redirect("project-detail", pk=generation.project_id)


@login_required
@require_POST
def generation_resume_view(request, pk):
    """A failed long video, again with the same recipe: the saved segments are reused."""
    generation = _get_generation_for_user(request, pk, role="editor")
    try:
        new = generation_resume(generation=generation, user=request.user)
    except GenerationError as e:
        return HttpResponse(e.message, status=400)
    if request.htmx:
        return render(request, "jobs/generation.html#card", {"g": new})
    return redirect("project-detail", pk=generation.project_id)
