from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "studio.keys"

    def ready(self) -> None:
        from studio.keys import signals  # noqa: F401  (keys of a moved project are revoked)
