from django.contrib import admin

from studio.keys.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Admins see and revoke keys; the secret itself was never stored."""

    list_display = ["name", "prefix", "team", "project", "created_by", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "team__name", "created_by__username"]

    # A key's scope is fixed when it is made; admins may rename or revoke it.
    def has_add_permission(self, request):
        return False  # Keys are made on the API keys page or with `create_api_key`.

    readonly_fields = [
        "team",
        "project",
        "created_by",
        "prefix",
        "digest",
        "created_at",
        "last_used_at",
    ]
