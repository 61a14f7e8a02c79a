from django.urls import path, re_path

from . import views

urlpatterns = [
    path("openapi.json", views.openapi, name="api-openapi"),
    path("videos", views.videos, name="api-videos"),
    path("videos/extensions", views.video_extensions, name="api-video-extensions"),
    path("videos/edits", views.video_edits, name="api-video-edits"),
    path("videos/<str:video>", views.video_detail, name="api-video"),
    path("videos/<str:video>/content", views.video_content, name="api-video-content"),
    path("videos/<str:video>/remix", views.video_remix, name="api-video-remix"),
    path("models", views.models, name="api-models"),
    path("models/<str:model>", views.model_detail, name="api-model"),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
