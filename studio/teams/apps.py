from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "studio.teams"

    def ready(self) -> None:
        from studio.teams import signals  # noqa: F401  (personal teams, access changes)
