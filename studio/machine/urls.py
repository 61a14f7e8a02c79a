from django.urls import path

from . import views

app_name = "machine"

urlpatterns = [
    path("", views.index, name="index"),
]
