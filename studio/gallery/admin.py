from django.contrib import admin

from studio.gallery.models import Clip


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "width", "height", "num_frames", "fps", "created_at"]
    raw_id_fields = ["generation", "parent_clip"]
