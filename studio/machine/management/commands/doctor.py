from django.core.management.base import BaseCommand

from studio.machine.services import machine_report, report_lines


class Command(BaseCommand):
    help = (
        "Print this machine's device, disk, Redis, database, workers and which engines can "
        "run here, and why not. Exits 1 only when Redis or the database is unreachable."
    )

    def handle(self, *args, **options):
        report = machine_report()
        for line in report_lines(report):
            self.stdout.write(line)
        if not report.healthy:
            raise SystemExit(1)
