from django.contrib import admin

from studio.teams.models import Invitation, Membership, Team
from studio.teams.views import AdminLoginForm

# The admin's login counts failures like the studio's (studio/throttle.py).
admin.site.login_form = AdminLoginForm


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


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


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations are made on the team pages; here they can be seen and revoked."""

    list_display = ["team", "invitee", "role", "use_count", "max_uses", "expires_at", "status"]
    list_filter = ["role"]
    search_fields = ["team__name", "invitee__username", "invitee__email"]
    readonly_fields = ["token_digest", "use_count", "created_by", "created_at", "declined_at"]
    autocomplete_fields = ["team", "invitee"]
