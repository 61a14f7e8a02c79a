"""The Django admin for runs, clips and prompts: thumbnails and prompts in the lists, filters,
search, and previews whose files are served through the admin (staff only), since media
files have no public URL.

Hiding and restoring clips (with a reason, audited) are added by `studio.moderation.admin`,
which sits above this app.
"""

from django.contrib import admin
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html

from generation.spec import GenerationError
from studio import media
from studio.jobs.models import Clip, Generation, Prompt
from studio.jobs.services import generation_delete

THUMB_HEIGHT = 48


class MediaAdminMixin:
    """Serve a row's stored files at `<pk>/media/<field>/`, behind the admin's staff login."""

    media_fields: tuple[str, ...] = ()

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}_media"
        view = self.admin_site.admin_view(self.media_view)
        return [path("<path:object_id>/media/<str:field>/", view, name=name), *super().get_urls()]

    def media_view(self, request, object_id, field):
        obj = self.get_object(request, object_id)
        if (
            obj is None
            or field not in self.media_fields
            or not self.has_view_permission(request, obj)
        ):
            raise Http404("No such file.")
        return media.serve(request, getattr(obj, field).name)

    def media_url(self, obj, field: str) -> str:
        opts = self.model._meta
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_media",
            args=[obj.pk, field],
            current_app=self.admin_site.name,
        )


def _thumb(url: str, alt: str):
    return format_html(
        '<img src="{}" alt="{}" height="{}" loading="lazy" style="border-radius:4px">',
        url,
        alt,
        THUMB_HEIGHT,
    )


class HiddenFilter(admin.SimpleListFilter):
    title = "moderation"
    parameter_name = "hidden"

    def lookups(self, request, model_admin):
        return [("yes", "Hidden"), ("no", "Visible")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(hidden_at__isnull=self.value() == "no")
        return queryset


@admin.register(Clip)
class ClipAdmin(MediaAdminMixin, admin.ModelAdmin):
    media_fields = ("file", "poster", "spritesheet")
    list_display = [
        "thumbnail",
        "id",
        "prompt_text",
        "project",
        "team",
        "author",
        "engine",
        "size",
        "visible",
        "created_at",
    ]
    list_display_links = ["thumbnail", "id"]
    list_filter = [HiddenFilter, "generation__engine", "generation__mode", "created_at"]
    search_fields = [
        "=id",
        "generation__prompt__text",
        "project__name",
        "project__team__name",
        "generation__requested_by__username",
    ]
    list_select_related = ["generation__prompt", "generation__requested_by", "project__team"]
    date_hierarchy = "created_at"
    # Files are shown, not edited: a clip's files are what its run made. Hiding goes
    # through the moderation actions, which log a reason.
    fields = [
        "video_preview",
        "poster_preview",
        "prompt_text",
        "generation",
        "project",
        "parent_clip",
        ("width", "height", "fps", "num_frames"),
        "frames_sha256",
        "hidden_at",
        "created_at",
    ]
    readonly_fields = [
        "video_preview",
        "poster_preview",
        "prompt_text",
        "generation",
        "project",
        "parent_clip",
        "width",
        "height",
        "fps",
        "num_frames",
        "frames_sha256",
        "hidden_at",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False  # Clips come from runs.

    @admin.display(description="")
    def thumbnail(self, clip: Clip):
        return _thumb(self.media_url(clip, "poster"), f"Clip {clip.pk}")

    @admin.display(description="Prompt", ordering="generation__prompt__text")
    def prompt_text(self, clip: Clip) -> str:
        g = clip.generation
        return (g.prompt.text if g.prompt else g.recipe.get("prompt", ""))[:120]

    @admin.display(ordering="project__team__name")
    def team(self, clip: Clip):
        return clip.project.team

    @admin.display(ordering="generation__requested_by__username")
    def author(self, clip: Clip):
        return clip.generation.requested_by

    @admin.display(ordering="generation__engine")
    def engine(self, clip: Clip) -> str:
        return clip.generation.engine

    @admin.display(description="Size")
    def size(self, clip: Clip) -> str:
        return f"{clip.width}×{clip.height}, {clip.num_frames} frames"

    @admin.display(boolean=True, ordering="hidden_at")
    def visible(self, clip: Clip) -> bool:
        return clip.hidden_at is None

    @admin.display(description="Video")
    def video_preview(self, clip: Clip):
        return format_html(
            '<video controls preload="metadata" src="{}" poster="{}" style="max-width:480px;'
            'width:100%"></video><br><a href="{}">Download MP4</a>',
            self.media_url(clip, "file"),
            self.media_url(clip, "poster"),
            self.media_url(clip, "file"),
        )

    @admin.display(description="Poster")
    def poster_preview(self, clip: Clip):
        return _thumb(self.media_url(clip, "poster"), f"Clip {clip.pk}")

    def delete_model(self, request, obj: Clip):
        """Delete the clip with its run, as the clip page does, so no "Done" card without a
        clip comes back."""
        try:
            generation_delete(generation=obj.generation)
        except GenerationError as e:
            self.message_user(request, f"Clip {obj.pk}: {e.message}", level="error")

    def delete_queryset(self, request, queryset):
        for clip in queryset.select_related("generation"):
            self.delete_model(request, clip)


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "id",
        "prompt_text",
        "project",
        "requested_by",
        "engine",
        "mode",
        "status",
        "queued_at",
        "finished_at",
    ]
    list_display_links = ["thumbnail", "id"]
    list_filter = ["status", "engine", "mode", "queued_at"]
    search_fields = [
        "id",
        "prompt__text",
        "error",
        "project__name",
        "project__team__name",
        "requested_by__username",
    ]
    list_select_related = ["prompt", "clip", "project", "requested_by"]
    date_hierarchy = "queued_at"
    readonly_fields = ["recipe", "notes", "queued_at", "started_at", "finished_at", "worker"]
    raw_id_fields = ["project", "prompt", "source_clip", "requested_by"]

    @admin.display(description="")
    def thumbnail(self, g: Generation):
        clip = getattr(g, "clip", None)
        if clip is None:
            return ""
        url = reverse("admin:jobs_clip_media", args=[clip.pk, "poster"])
        return _thumb(url, f"Clip {clip.pk}")

    @admin.display(description="Prompt", ordering="prompt__text")
    def prompt_text(self, g: Generation) -> str:
        return (g.prompt.text if g.prompt else (g.recipe or {}).get("prompt", ""))[:120]


@admin.register(Prompt)
class PromptAdmin(MediaAdminMixin, admin.ModelAdmin):
    media_fields = ("image",)
    list_display = [
        "text",
        "author",
        "project",
        "engine",
        "mode",
        "camera_motion",
        "style_preset",
        "created_at",
    ]
    list_filter = ["engine", "mode", "camera_motion", "style_preset", "created_at"]
    search_fields = ["text", "negative_text", "author__username", "project__name"]
    list_select_related = ["author", "project"]
    date_hierarchy = "created_at"
    raw_id_fields = ["project", "author"]
    readonly_fields = ["image_preview"]
    exclude = ["image"]

    @admin.display(description="Input image")
    def image_preview(self, prompt: Prompt):
        if not prompt.image:
            return "None"
        url = self.media_url(prompt, "image")
        return format_html(
            '<a href="{}"><img src="{}" alt="" style="max-height:160px"></a>', url, url
        )
