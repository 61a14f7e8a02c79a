"""`manage.py fetch_model NAME`: download a catalogue checkpoint in the foreground."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from generation import catalogue
from generation.fetch import fetch, human_bytes
from generation.spec import GenerationError

PRINT_INTERVAL = 2.0  # Seconds between progress lines within one file.


class Command(BaseCommand):
    help = (
        "Download a model from the catalogue into STUDIO_MODELS_DIR, verify it and install "
        "it (resumes an interrupted download). Known models: " + ", ".join(catalogue.CATALOGUE)
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The catalogue name, e.g. wan-t2v-1.3b.")
        parser.add_argument(
            "--endpoint",
            default="",
            help="A hub mirror's URL (default: STUDIO_HF_ENDPOINT, else huggingface_hub's).",
        )

    def handle(self, *args, name: str, endpoint: str, **options):
        try:
            entry = catalogue.get(name)
        except GenerationError as exc:
            raise CommandError(exc.message) from None
        models_dir = settings.STUDIO_MODELS_DIR
        self.stdout.write(f"Fetching {entry.label} ({entry.hub_id}) into {models_dir / name}")
        last = {"at": 0.0, "file": None}

        def progress(done: int, total: int, current: str) -> None:
            now = time.monotonic()
            if current == last["file"] and done < total and now - last["at"] < PRINT_INTERVAL:
                return
            last.update(at=now, file=current)
            percent = 100 * done / total if total else 100
            line = f"{percent:5.1f}%  {human_bytes(done)} of {human_bytes(total)}"
            self.stdout.write(f"{line}  {current}".rstrip())

        try:
            path = fetch(
                entry,
                models_dir,
                progress=progress,
                should_cancel=lambda: False,
                endpoint=endpoint or settings.STUDIO_HF_ENDPOINT or None,
            )
        except GenerationError as exc:
            raise CommandError(exc.message) from None
        except KeyboardInterrupt:
            raise CommandError(
                f"Interrupted. Run `manage.py fetch_model {name}` again to continue: finished "
                "files are kept."
            ) from None
        self.stdout.write(self.style.SUCCESS(f"Installed {name} in {path}"))
