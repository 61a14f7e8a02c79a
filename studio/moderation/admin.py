"""Moderation in the Django admin: hide and restore clips (with a reason, audited) from the
clip list, and read-only views of reports, blocked prompts and the audit log."""

from django.contrib import admin
from django.template.response import TemplateResponse

from studio.jobs.admin import ClipAdmin
from studio.jobs.models import Clip

from . import services
from .forms import ReasonForm
from .models import AuditEntry, PolicyAttempt, Report


def _with_reason(request, queryset, *, action: str, title: str, apply):
    """Ask for the reason on an intermediate page, then apply the action to each clip."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        done, skipped = 0, []
        for clip in queryset:
            try:
                apply(actor=request.user, clip=clip, reason=form.cleaned_data["reason"])
                done += 1
            except services.ModerationError as e:
                skipped.append(str(e))
        return done, skipped
    context = {
        **admin.site.each_context(request),
        "title": title,
        "clips": queryset,
        "form": form,
        "action": action,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "opts": Clip._meta,
    }
    return TemplateResponse(request, "moderation/admin_reason.html", context)


class ModeratedClipAdmin(ClipAdmin):
    actions = ["hide_clips", "restore_clips"]

    def _run(self, request, queryset, action, title, apply):
        result = _with_reason(request, queryset, action=action, title=title, apply=apply)
        if isinstance(result, TemplateResponse):
            return result
        done, skipped = result
        self.message_user(request, f"{title}: {done} clip(s), logged with your reason.")
        for message in skipped:
            self.message_user(request, message, level="warning")
        return None

    @admin.action(description="Hide selected clips (asks for a reason)")
    def hide_clips(self, request, queryset):
        return self._run(request, queryset, "hide_clips", "Hide clips", services.clip_hide)

    @admin.action(description="Restore selected clips (asks for a reason)")
    def restore_clips(self, request, queryset):
        return self._run(request, queryset, "restore_clips", "Restore clips", services.clip_restore)


admin.site.unregister(Clip)
admin.site.register(Clip, ModeratedClipAdmin)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_name", "action", "target_label", "reason"]
    list_filter = ["action", "created_at"]
    search_fields = ["actor_name", "target_label", "reason"]


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "clip", "reporter", "reason", "status", "closed_by"]
    list_filter = ["status", "reason"]
    search_fields = ["note", "reporter__username"]


@admin.register(PolicyAttempt)
class PolicyAttemptAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "project", "category", "pattern", "field", "text"]
    list_filter = ["category", "field"]
    search_fields = ["text", "user__username"]
