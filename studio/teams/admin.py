from django.contrib import admin

from studio.teams.models import Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "personal",
        "ai_mark",
        "monthly_engine_seconds",
        "max_concurrent_jobs",
        "created_at",
    ]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]
