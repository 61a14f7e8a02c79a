from django.contrib import admin

from studio.jobs.models import Clip, Generation, Prompt


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "engine", "mode", "status", "queued_at", "finished_at"]
    list_filter = ["status", "engine", "mode"]
    search_fields = ["id", "error", "project__name"]
    readonly_fields = ["recipe", "notes", "queued_at", "started_at", "finished_at", "worker"]


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "width", "height", "num_frames", "fps", "created_at"]
    raw_id_fields = ["generation", "parent_clip"]


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ["text", "project", "engine", "camera_motion", "style_preset", "created_at"]
    search_fields = ["text"]
