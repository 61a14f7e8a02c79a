from django.urls import path, re_path

from . import views

urlpatterns = [
    path("", views.api.urls),
    re_path(r"^.*$", views.not_found),  # Unknown /v1 paths get OpenAI's 404, not Django's page.
]
