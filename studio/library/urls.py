from django.urls import path

from . import views

app_name = "library"

urlpatterns = [
    path("", views.index, name="index"),
    path("<str:name>/row/", views.row, name="row"),
    path("<str:name>/fetch/", views.fetch, name="fetch"),
    path("<str:name>/cancel/", views.cancel, name="cancel"),
    path("<str:name>/delete/", views.delete, name="delete"),
]
