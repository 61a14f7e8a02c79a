import logging

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from generation.spec import GenerationError
from studio import media
from studio.gallery.forms import ClipRenameForm, DeriveForm, RemixForm
from studio.gallery.services import (
    REMIXABLE,
    clip_derive,
    clip_favourite,
    clip_remix,
    clip_rename,
    clip_thumbnail,
    clips_zip_stream,
    generation_dismiss,
)
from studio.ids import parse_ids
from studio.jobs.models import Clip, Generation
from studio.jobs.provenance import (
    clip_credentials,
    credentials_headline,
    credentials_verdict,
    input_video_credentials,
)
from studio.jobs.recipes import add_form_error
from studio.jobs.services import clip_spritesheet, generation_delete
from studio.projects.access import check_project_access, get_project_for_user
from studio.teams.selectors import role_allows

logger = logging.getLogger(__name__)


def _get_clip_for_user(request, pk: int, *, role: str = "viewer") -> Clip:
    clip = (
        Clip.objects.shown_to(request.user)
        .select_related("generation__prompt", "generation__requested_by", "project__team")
        .filter(pk=pk)
        .first()
    )
    if clip is None:
        raise Http404("No such clip.")
    check_project_access(request.user, clip.project, role=role)
    return clip


def _clip_page(
    request,
    clip: Clip,
    form: DeriveForm,
    remix_form: RemixForm | None = None,
    status: int = 200,
    delete_error: str = "",
):
    context = {
        "clip": clip,
        "g": clip.generation,
        "project": clip.project,
        "form": form,
        "remix_form": remix_form or RemixForm(),
        "remixable": clip.generation.mode in REMIXABLE,
        "derived": Clip.objects.shown_to(request.user)
        .filter(parent_clip=clip)
        .select_related("generation__prompt", "generation__requested_by"),
        "can_edit": role_allows(clip.project.user_role, "editor"),
        "delete_error": delete_error,
    }
    credentials = clip_credentials(clip)
    upload = input_video_credentials(clip.generation)
    context["credentials"] = credentials and {
        "c": credentials,
        "headline": credentials_headline(credentials),
        "verdict": credentials_verdict(credentials),
    }
    context["upload_credentials"] = upload and {
        "c": upload,
        "headline": credentials_headline(upload),
        "verdict": credentials_verdict(upload),
    }
    return render(request, "gallery/clip.html", context, status=status)


@login_required
def clip_detail(request, pk: int):
    clip = _get_clip_for_user(request, pk)
    return _clip_page(request, clip, DeriveForm(clip=clip))


@login_required
@require_POST
def clip_derive_view(request, pk: int):
    clip = _get_clip_for_user(request, pk, role="editor")
    form = DeriveForm(request.POST, clip=clip)
    if not form.is_valid():
        return _clip_page(request, clip, form)
    try:
        clip_derive(
            clip=clip,
            user=request.user,
            engine_id=form.engine.id,
            request=form.request,
            notes=form.notes,
        )
    except GenerationError as e:  # The prompt policy, a team quota, or the engine refusing it.
        add_form_error(form, e, "derive_form")
        return _clip_page(request, clip, form, status=400)
    return redirect("project-detail", pk=clip.project_id)


@login_required
@require_POST
def clip_remix_view(request, pk: int):
    clip = _get_clip_for_user(request, pk, role="editor")
    form = RemixForm(request.POST)
    if form.is_valid():
        try:
            clip_remix(clip=clip, user=request.user, text=form.cleaned_data["text"])
            return redirect("project-detail", pk=clip.project_id)
        except GenerationError as e:
            form.add_error("text", e.message)
    return _clip_page(request, clip, DeriveForm(clip=clip), remix_form=form, status=400)


# A clip's files never change under its URL (stored names are never reused), so browsers
# may keep them; ETags let them check back cheaply.
@login_required
def clip_video(request, pk: int):
    clip = _get_clip_for_user(request, pk)
    return media.serve(request, clip.file.name, cache_control=media.IMMUTABLE)


@login_required
def clip_poster(request, pk: int):
    clip = _get_clip_for_user(request, pk)
    return media.serve(request, clip.poster.name, cache_control=media.IMMUTABLE)


@login_required
def clip_thumbnail_view(request, pk: int):
    clip = _get_clip_for_user(request, pk)
    try:
        name = clip_thumbnail(clip=clip)
    except OSError:  # No poster, or not a picture PIL reads: the poster as it is, or a 404.
        logger.warning("No thumbnail for clip %s", clip.pk, exc_info=True)
        name = clip.poster.name
    return media.serve(request, name, cache_control=media.IMMUTABLE)


@login_required
def clip_sprites(request, pk: int):
    """The clip's 4×4 frame grid for hover scrubbing; drawn on first request."""
    clip = _get_clip_for_user(request, pk)
    try:
        name = clip_spritesheet(clip=clip)
    except GenerationError:  # the video cannot be decoded: the poster still shows something
        name = clip.poster.name
    return media.serve(request, name)


@login_required
def clip_download(request, pk: int):
    clip = _get_clip_for_user(request, pk)
    return media.serve(
        request,
        clip.file.name,
        filename=f"clip-{clip.pk}-seed{clip.generation.recipe.get('seed')}.mp4",
        as_attachment=True,
    )


@login_required
@require_POST
def clip_delete_view(request, pk: int):
    clip = _get_clip_for_user(request, pk, role="editor")
    try:
        generation_delete(generation=clip.generation)
    except GenerationError as e:  # Jobs still read it: say so, keep the page.
        status = 200 if request.htmx else 400  # htmx swaps the section in place.
        form = DeriveForm(clip=clip)
        return _clip_page(request, clip, form, status=status, delete_error=e.message)
    if request.htmx:
        return HttpResponseClientRedirect(reverse("project-detail", args=[clip.project_id]))
    return redirect("project-detail", pk=clip.project_id)


@login_required
@require_POST
def clip_favourite_view(request, pk: int):
    clip = _get_clip_for_user(request, pk, role="editor")
    clip = clip_favourite(clip=clip, favourite=request.POST.get("favourite") == "1")
    if request.htmx:
        return render(request, "gallery/_clip.html#star", {"clip": clip, "can_edit": True})
    return redirect("clip-detail", pk=clip.pk)


@login_required
@require_POST
def clip_rename_view(request, pk: int):
    clip = _get_clip_for_user(request, pk, role="editor")
    form = ClipRenameForm(request.POST)
    if form.is_valid():
        clip_rename(clip=clip, title=form.cleaned_data["title"])
    elif not request.htmx:
        return _clip_page(request, clip, DeriveForm(clip=clip), status=400)
    if request.htmx:
        context = {"clip": clip, "can_edit": True, "rename_form": form}
        return render(request, "gallery/clip.html#title", context)
    return redirect("clip-detail", pk=clip.pk)


MAX_ZIP_CLIPS = 200


@login_required
def clips_zip(request, pk: int):
    """The selected clips of a project as one streamed zip."""
    project = get_project_for_user(request.user, pk)
    ids = parse_ids(request.GET.getlist("clip"))[:MAX_ZIP_CLIPS]
    clips = list(
        Clip.objects.shown_to(request.user)
        .filter(project=project, pk__in=ids)
        .select_related("generation")
        .order_by("pk")
    )
    if not clips:
        return HttpResponse("Select one or more clips to download.", status=400)
    response = StreamingHttpResponse(clips_zip_stream(clips), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="project-{project.pk}-clips.zip"'
    return response


@login_required
@require_POST
def generation_dismiss_view(request, pk):
    generation = Generation.objects.select_related("project__team").filter(pk=pk).first()
    if generation is None:
        raise Http404("No such generation.")
    check_project_access(request.user, generation.project, role="editor")
    try:
        generation_dismiss(generation=generation)
    except GenerationError as e:
        return HttpResponse(e.message, status=400)
    if request.htmx:
        return HttpResponse("")
    return redirect("project-detail", pk=generation.project_id)


@login_required
def clip_compare(request, pk: int):
    """A/B: this clip over the clip it was made from, with a slider between them."""
    clip = _get_clip_for_user(request, pk)
    parent = Clip.objects.shown_to(request.user).filter(pk=clip.parent_clip_id).first()
    if parent is not None:
        check_project_access(request.user, parent.project)
    return render(
        request, "gallery/compare.html", {"clip": clip, "parent": parent, "project": clip.project}
    )
