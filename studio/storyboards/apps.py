from django.apps import AppConfig


class StoryboardsConfig(AppConfig):
    name = "studio.storyboards"

    def ready(self) -> None:
        from studio.storyboards import signals  # noqa: F401
