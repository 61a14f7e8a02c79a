import logging

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from generation.spec import GenerationError
from studio import media
from studio.gallery.forms import DeriveForm, RemixForm
from studio.gallery.services import REMIXABLE, clip_derive, clip_remix, clip_thumbnail
from studio.jobs.models import Clip
from studio.jobs.provenance import (
    clip_credentials,
    credentials_headline,
    credentials_verdict,
    input_video_credentials,
)
from studio.jobs.recipes import add_form_error
from studio.jobs.services import generation_delete
from studio.projects.access import check_project_access
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
