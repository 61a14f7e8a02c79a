from django.contrib import admin

from studio.projects.models import Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_at", "last_activity_at"]
    search_fields = ["name", "team__name"]
