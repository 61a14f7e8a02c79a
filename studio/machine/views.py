from django.shortcuts import render
from django.views.decorators.http import require_GET

from studio.moderation.views import staff_required

from .services import machine_report


@staff_required
@require_GET
def index(request):
    """This machine for staff: device, disk, Redis, database, workers and every engine."""
    return render(request, "machine/index.html", {"report": machine_report()})
