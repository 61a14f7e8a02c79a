from django.contrib import admin

from .models import ModelDownload


@admin.register(ModelDownload)
class ModelDownloadAdmin(admin.ModelAdmin):
    """Read-only history of model downloads; the Models page starts and cancels them."""

    list_display = ("name", "status", "bytes_done", "bytes_total", "requested_by", "created_at")
    list_filter = ("status", "name")
    readonly_fields = [f.name for f in ModelDownload._meta.fields]

    def has_add_permission(self, request):
        return False
