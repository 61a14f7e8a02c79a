from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "studio.library"
    verbose_name = "Models"
