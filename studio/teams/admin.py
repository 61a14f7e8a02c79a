from django.contrib import admin

from studio.teams.models import Membership, Team
from studio.teams.views import AdminLoginForm

# The admin's login counts failures like the studio's (studio/throttle.py).
admin.site.login_form = AdminLoginForm


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "personal", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]
