"""The workspace: the project list and the project page, which brings prompt, jobs and gallery together."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from generation.presets import EXAMPLES
from generation.prompting import assemble_prompt
from generation.spec import GenerationError
from studio.gallery.forms import FootageForm
from studio.gallery.services import (
    BadCursor,
    clip_filter,
    clip_frame_store,
    footage_derive,
    gallery_facets,
    gallery_page,
    gallery_sort,
)
from studio.ids import parse_id
from studio.jobs.engines import first_run_guidance
from studio.jobs.models import Clip
from studio.jobs.recipes import add_form_error
from studio.jobs.selectors import job_groups
from studio.projects.access import get_project_for_user
from studio.projects.models import Project
from studio.projects.services import project_create, project_rename
from studio.prompts.forms import (
    PromptForm,
    builder_data,
    initial_from_prompt,
    initial_from_recipe,
    selected_engine,
)
from studio.prompts.services import builder_preview, last_prompt, prompt_submit_variants
from studio.teams.selectors import role_allows
from studio.workspace.forms import ProjectForm, ProjectRenameForm


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
    context = {"projects": projects, "form": form, "first_run": first_run_guidance()}
    return render(request, "workspace/list.html", context)


@login_required
def project_detail(request, pk: int):
    project = get_project_for_user(request.user, pk)
    if request.htmx and (request.GET.get("after") or request.GET.get("gallery")):
        # "Older clips" (the next page alone) or new filters (the whole gallery).
        try:
            gallery = _gallery_context(request, project, request.GET)
        except BadCursor as e:
            return HttpResponseBadRequest(str(e))
        part = "gallery-page" if request.GET.get("after") else "gallery"
        return render(request, f"workspace/detail.html#{part}", {"project": project, **gallery})
    return project_page(request, project, _starting_form(request, project))


def _clips(request, project):
    """The project's clips this user may see (hidden ones only for staff)."""
    return Clip.objects.shown_to(request.user).filter(project=project)


def _starting_form(request, project) -> PromptForm:
    """The form as it opens: an example, a clip's settings, or the user's last settings."""
    example = EXAMPLES.get(request.GET.get("example", ""))
    if example:
        initial = {
            **initial_from_prompt(last_prompt(project=project, user=request.user)),
            **example.anatomy.to_dict(),
            "text": assemble_prompt(example.anatomy),
            "camera_motion": example.camera_motion,
            "style_preset": example.style_preset,
            "aspect_ratio": example.aspect_ratio,
            "seed": None,
        }
        return PromptForm(initial=initial)
    clip_id = parse_id(request.GET.get("from_clip", ""))
    if clip_id is not None:
        clip = (
            _clips(request, project).filter(pk=clip_id).select_related("generation__prompt").first()
        )
        if clip is not None:
            g = clip.generation
            return PromptForm(initial=initial_from_recipe(g.recipe, g.prompt, g.engine))
    initial = initial_from_prompt(last_prompt(project=project, user=request.user))
    initial.pop("seed", None)  # a new submit gets a new seed unless one is asked for
    image_clip = parse_id(request.GET.get("image_clip", ""))
    if image_clip is not None and _clips(request, project).filter(pk=image_clip).exists():
        initial["image_clip"] = image_clip
        initial["image_frame"] = "first" if request.GET.get("frame") == "first" else "last"
    return PromptForm(initial=initial)


GALLERY_PARAMS = (
    "q",
    "engine",
    "mode",
    "aspect",
    "camera",
    "author",
    "favourite",
    "derived",
    "sort",
)


def _gallery_context(request, project, params) -> dict:
    """A keyset page of the clips under the filters in `params`, and the filters' state."""
    clips = clip_filter(_clips(request, project), params)
    filters = {k: params.get(k, "") for k in GALLERY_PARAMS if params.get(k)}
    page = gallery_page(clips, after=params.get("after"), sort=gallery_sort(params))
    return {"page": page, "filters": filters, "filter_query": urlencode(filters)}


def project_page(request, project, form, *, status: int = 200, extra: dict | None = None):
    """The whole project page; a failed submit without JavaScript shows it with the form's errors."""
    try:
        gallery = _gallery_context(request, project, request.GET)
    except BadCursor as e:
        return HttpResponseBadRequest(str(e))
    context = {
        "project": project,
        **gallery,
        "facets": gallery_facets(project),
        "job_groups": job_groups(project, request.user),
        "form": form,
        "can_edit": role_allows(project.user_role, "editor"),
        "examples": EXAMPLES.values(),
        "builder_data": builder_data(),
        "builder": _preview(form),
        "footage_form": FootageForm(),
        **(extra or {}),
    }
    return render(request, "workspace/detail.html", context, status=status)


def _preview(form: PromptForm):
    return builder_preview(
        data=form.data if form.is_bound else form.initial, engine=form.engine_info
    )


@login_required
@require_GET
def prompt_form(request, pk: int):
    """The prompt form alone (htmx): an example or a clip's settings, one click away."""
    project = get_project_for_user(request.user, pk, role="editor")
    form = _starting_form(request, project)
    context = {
        "project": project,
        "form": form,
        "examples": EXAMPLES.values(),
        "builder": _preview(form),
    }
    return render(request, "workspace/detail.html#prompt-form", context)


@login_required
@require_GET
def prompt_preview(request, pk: int):
    """The live builder: the assembled prompt, what the engine reads, and the hints."""
    get_project_for_user(request.user, pk, role="editor")
    engine = selected_engine(request.GET.get("engine"))
    preview = builder_preview(
        data=request.GET, engine=engine, source=request.GET.get("builder_source", "")
    )
    return render(
        request, "workspace/detail.html#builder-preview", {"builder": preview, "live": True}
    )


def _frame_of(project, cleaned) -> str:
    """Store the chosen frame of one of the project's clips as the input image."""
    clip = Clip.objects.filter(pk=cleaned["image_clip"], project=project).first()
    if clip is None:
        raise GenerationError("That clip is not in this project.", field="image_path")
    return clip_frame_store(clip=clip, which=cleaned.get("image_frame") or "last")


@login_required
@require_POST
def generate(request, pk: int):
    project = get_project_for_user(request.user, pk, role="editor")
    form = PromptForm(request.POST, request.FILES)
    generations = []
    if form.is_valid():
        try:
            data = form.prompt_data()
            if form.cleaned_data.get("image_clip") and not data.get("image"):
                data["image"] = _frame_of(project, form.cleaned_data)
            generations = prompt_submit_variants(
                project=project,
                user=request.user,
                data=data,
                count=form.cleaned_data["variants"] or 1,
            )
        except GenerationError as e:
            add_form_error(form, e, "prompt_form")
    if not request.htmx:
        if generations:
            return redirect("project-detail", pk=project.pk)
        return project_page(request, project, form, status=400)
    # htmx swaps the form (with its errors, if any) in place, so this answers 200 either way.
    context = {
        "project": project,
        "form": form,
        "new_generations": generations,
        "new_generation": generations[0] if generations else None,
        "examples": EXAMPLES.values(),
        "builder": _preview(form),
    }
    return render(request, "workspace/detail.html#prompt-form", context)


@login_required
@require_POST
def project_rename_view(request, pk: int):
    project = get_project_for_user(request.user, pk, role="editor")
    form = ProjectRenameForm(request.POST)
    if form.is_valid():
        project_rename(project=project, name=form.cleaned_data["name"])
    context = {"project": project, "rename_form": form, "can_edit": True}
    if request.htmx:
        return render(request, "workspace/detail.html#project-title", context)
    if not form.is_valid():
        return project_page(request, project, PromptForm(), status=400, extra=context)
    return redirect("project-detail", pk=project.pk)


@login_required
@require_POST
def footage(request, pk: int):
    """Restyle, extend, upscale or interpolate a video the user uploads."""
    project = get_project_for_user(request.user, pk, role="editor")
    form = FootageForm(request.POST, request.FILES)
    if form.is_valid():
        d = form.cleaned_data
        options = {
            "mode": d["mode"],
            "engine_id": d.get("engine") or None,
            "scale": d["scale"],
            "upscale_model": d["upscale_model"],
            "upscaler": d.get("upscaler") or "auto",
            "target_fps": d.get("target_fps"),
            "target_size": d.get("target_size"),
            "prompt": d.get("prompt") or "",
            "seconds": d["seconds"],
            "strength": d["strength"],
        }
        try:
            footage_derive(project=project, user=request.user, upload=d["video"], options=options)
            return redirect("project-detail", pk=project.pk)
        except GenerationError as e:
            add_form_error(form, e, "derive_form")
    extra = {"footage_form": form}
    return project_page(request, project, _starting_form(request, project), status=400, extra=extra)
