"""The staff Models page: the catalogue, what is installed, downloads with live progress."""

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from generation.catalogue import CATALOGUE, CatalogueEntry
from studio.moderation.views import staff_required

from . import selectors, services
from .live import render_row


def _entry(name: str) -> CatalogueEntry:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise Http404("No such model.") from None


def _page(request, *, errors=None, status=200):
    services.download_reconcile()
    rows = selectors.model_rows()
    context = {"rows": rows, "disk": selectors.disk_summary(rows), "errors": errors or {}}
    return render(request, "library/index.html", context, status=status)


@require_GET
@staff_required
def index(request):
    return _page(request)


@require_GET
@staff_required
def row(request, name: str):
    """One model's row: the fallback poll of a running download."""
    return HttpResponse(render_row(_entry(name), request=request))


def _answer(request, entry: CatalogueEntry, action):
    error = None
    try:
        action()
    except ValidationError as exc:
        error = exc.messages[0]
    if request.htmx:
        context = {"row": selectors.model_row(entry), "error": error}
        return render(request, "library/index.html#row", context, status=400 if error else 200)
    if error:
        return _page(request, errors={entry.name: error}, status=400)
    return redirect("library:index")


@require_POST
@staff_required
def fetch(request, name: str):
    entry = _entry(name)
    return _answer(
        request, entry, lambda: services.download_start(name=entry.name, user=request.user)
    )


@require_POST
@staff_required
def cancel(request, name: str):
    entry = _entry(name)
    return _answer(request, entry, lambda: services.download_cancel(name=entry.name))


@require_POST
@staff_required
def delete(request, name: str):
    entry = _entry(name)
    return _answer(request, entry, lambda: services.model_delete(name=entry.name))
