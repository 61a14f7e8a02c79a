from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "studio.jobs"

    def ready(self) -> None:
        from studio.jobs import signals  # noqa: F401  (connects the file clean-up handlers)
