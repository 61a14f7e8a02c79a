from django.urls import path

from studio.storyboards import views

urlpatterns = [
    path("projects/<int:pk>/storyboards/", views.storyboard_list, name="storyboard-list"),
    path("storyboards/<int:pk>/", views.storyboard_detail, name="storyboard-detail"),
    path("storyboards/<int:pk>/delete/", views.storyboard_delete, name="storyboard-delete"),
    path("storyboards/<int:pk>/shots/", views.shot_add, name="shot-add"),
    path("storyboards/<int:pk>/reorder/", views.storyboard_reorder, name="storyboard-reorder"),
    path("storyboards/<int:pk>/generate/", views.storyboard_generate, name="storyboard-generate"),
    path("storyboards/<int:pk>/export/", views.storyboard_export, name="storyboard-export"),
    path("shots/<int:pk>/image/", views.shot_image, name="shot-image"),
    path("shots/<int:pk>/edit/", views.shot_edit, name="shot-edit"),
    path("shots/<int:pk>/delete/", views.shot_delete, name="shot-delete"),
    path("shots/<int:pk>/duplicate/", views.shot_duplicate, name="shot-duplicate"),
    path("shots/<int:pk>/move/", views.shot_move, name="shot-move"),
    path("shots/<int:pk>/generate/", views.shot_generate, name="shot-generate"),
    path("takes/<int:pk>/choose/", views.take_choose, name="take-choose"),
]
