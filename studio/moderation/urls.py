from django.urls import path

from . import views

urlpatterns = [
    path("", views.queue, name="moderation-queue"),
    path("clips/<int:pk>/act/", views.clip_act, name="moderation-clip-act"),
    path("clips/<int:pk>/video.mp4", views.clip_video, name="moderation-clip-video"),
    path("clips/<int:pk>/poster.jpg", views.clip_poster, name="moderation-clip-poster"),
    path("policy/", views.policy, name="moderation-policy"),
    path("policy/<int:pk>/remove/", views.policy_rule_remove, name="moderation-rule-remove"),
    path("audit/", views.audit, name="moderation-audit"),
    path("projects/", views.projects, name="moderation-projects"),
    path("projects/<int:pk>/", views.project_review, name="moderation-project"),
    path("users/<int:pk>/reinstate/", views.user_reinstate, name="moderation-user-reinstate"),
]
