from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import include, path

from studio.gallery import views as gallery
from studio.jobs import usage
from studio.jobs import views as jobs
from studio.keys import views as keys
from studio.moderation import views as moderation
from studio.projects import views as projects
from studio.teams import views as teams
from studio.workspace import views as workspace


def home(request):
    return redirect("project-list" if request.user.is_authenticated else "login")


urlpatterns = [
    path("", home, name="home"),
    path("signup/", teams.signup, name="signup"),
    path("login/", teams.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("projects/", workspace.project_list, name="project-list"),
    path("projects/<int:pk>/", workspace.project_detail, name="project-detail"),
    path("projects/<int:pk>/generate/", workspace.generate, name="generate"),
    path("projects/<int:pk>/move/", projects.project_move_view, name="project-move"),
    path("projects/<int:pk>/prompt/", workspace.prompt_form, name="prompt-form"),
    path("projects/<int:pk>/prompt/preview/", workspace.prompt_preview, name="prompt-preview"),
    path("generations/<uuid:pk>/", jobs.generation_detail, name="generation-detail"),
    path("generations/<uuid:pk>/preview.jpg", jobs.generation_preview, name="generation-preview"),
    path("generations/<uuid:pk>/cancel/", jobs.generation_cancel_view, name="generation-cancel"),
    path("generations/<uuid:pk>/resume/", jobs.generation_resume_view, name="generation-resume"),
    path("clips/<int:pk>/", gallery.clip_detail, name="clip-detail"),
    path("clips/<int:pk>/video.mp4", gallery.clip_video, name="clip-video"),
    path("clips/<int:pk>/poster.jpg", gallery.clip_poster, name="clip-poster"),
    path("clips/<int:pk>/thumbnail.jpg", gallery.clip_thumbnail_view, name="clip-thumbnail"),
    path("clips/<int:pk>/sprites.jpg", gallery.clip_sprites, name="clip-sprites"),
    path("clips/<int:pk>/download/", gallery.clip_download, name="clip-download"),
    path("clips/<int:pk>/derive/", gallery.clip_derive_view, name="clip-derive"),
    path("clips/<int:pk>/remix/", gallery.clip_remix_view, name="clip-remix"),
    path("clips/<int:pk>/delete/", gallery.clip_delete_view, name="clip-delete"),
    path("clips/<int:pk>/report/", moderation.clip_report, name="clip-report"),
    path("moderation/", include("studio.moderation.urls")),
    path("staff/machine/", include("studio.machine.urls")),
    path("staff/models/", include("studio.library.urls")),
    path("teams/<int:pk>/usage/", usage.team_usage_view, name="team-usage"),
    path("clips/<int:pk>/favourite/", gallery.clip_favourite_view, name="clip-favourite"),
    path("clips/<int:pk>/rename/", gallery.clip_rename_view, name="clip-rename"),
    path("clips/<int:pk>/compare/", gallery.clip_compare, name="clip-compare"),
    path("projects/<int:pk>/clips.zip", gallery.clips_zip, name="clips-zip"),
    path("projects/<int:pk>/rename/", workspace.project_rename_view, name="project-rename"),
    path("projects/<int:pk>/footage/", workspace.footage, name="project-footage"),
    path(
        "generations/<uuid:pk>/dismiss/",
        gallery.generation_dismiss_view,
        name="generation-dismiss",
    ),
    path("keys/", keys.api_keys, name="api-keys"),
    path("keys/<int:pk>/revoke/", keys.api_key_revoke_view, name="api-key-revoke"),
    path("", include("studio.teams.urls")),
    path("", include("studio.storyboards.urls")),
    path("v1/", include("studio.api.urls")),
    path("admin/", admin.site.urls),
]
