import mimetypes
import os
import re

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from generation.spec import GenerationError
from studio.gallery.forms import DeriveForm, RemixForm
from studio.gallery.services import REMIXABLE, clip_derive, clip_remix
from studio.jobs.models import Clip
from studio.projects.access import check_project_access
from studio.teams.selectors import role_allows

RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)$")


def _get_clip_for_user(request, pk: int, *, role: str = "viewer") -> Clip:
    clip = Clip.objects.select_related("generation__prompt", "project__team").filter(pk=pk).first()
    if clip is None:
        raise Http404("No such clip.")
    check_project_access(request.user, clip.project, role=role)
    return clip


def _clip_page(
    request, clip: Clip, form: DeriveForm, remix_form: RemixForm | None = None, status: int = 200
):
    context = {
        "clip": clip,
        "g": clip.generation,
        "project": clip.project,
        "form": form,
        "remix_form": remix_form or RemixForm(),
        "remixable": clip.generation.mode in REMIXABLE,
        "derived": Clip.objects.filter(parent_clip=clip).select_related("generation__prompt"),
        "can_edit": role_allows(clip.project.user_role, "editor"),
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
    clip_derive(
        clip=clip,
        user=request.user,
        engine_id=form.engine.id,
        request=form.request,
        notes=form.notes,
    )
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


def _read_range(path: str, start: int, length: int, chunk: int = 1 << 16):
    with open(path, "rb") as fh:
        fh.seek(start)
        while length > 0:
            data = fh.read(min(chunk, length))
            if not data:
                return
            length -= len(data)
            yield data


def _serve(request, field, *, download_name: str | None = None):
    try:
        path = field.path
    except ValueError:
        raise Http404("The file is missing.") from None
    return serve_file(request, path, download_name=download_name)


def serve_file(request, path: str, *, download_name: str | None = None):
    """Serve a media file with byte ranges, so browsers can seek in the video."""
    try:
        size = os.path.getsize(path)
    except OSError:
        raise Http404("The file is missing.") from None
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    match = RANGE_RE.match(request.headers.get("Range", ""))
    if match and (match.group(1) or match.group(2)):
        start_s, end_s = match.groups()
        if start_s:
            start, end = int(start_s), min(int(end_s) if end_s else size - 1, size - 1)
        else:
            start, end = max(0, size - int(end_s)), size - 1
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        response = StreamingHttpResponse(
            _read_range(path, start, end - start + 1), status=206, content_type=content_type
        )
        response["Content-Length"] = str(end - start + 1)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    else:
        # FileResponse closes the file when the response is done.
        response = FileResponse(
            open(path, "rb"),  # noqa: SIM115
            content_type=content_type,
            as_attachment=download_name is not None,
            filename=download_name or "",
        )
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
def clip_video(request, pk: int):
    return _serve(request, _get_clip_for_user(request, pk).file)


@login_required
def clip_poster(request, pk: int):
    return _serve(request, _get_clip_for_user(request, pk).poster)


@login_required
def clip_download(request, pk: int):
    clip = _get_clip_for_user(request, pk)
    return _serve(
        request,
        clip.file,
        download_name=f"clip-{clip.pk}-seed{clip.generation.recipe.get('seed')}.mp4",
    )
