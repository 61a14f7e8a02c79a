from django.contrib import admin

from studio.prompts.models import Prompt


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ["text", "project", "engine", "camera_motion", "style_preset", "created_at"]
    search_fields = ["text"]
