"""What the machine page and `manage.py doctor` report, gathered in one place.

Each check catches its own failure and says what went wrong instead of raising, so a
page about a broken machine still renders.
"""

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from generation import machine
from generation.memory import fmt_gb
from studio.jobs import engines
from studio.jobs.engines import EngineStatus


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    facts: machine.Facts
    disks: list[Check]
    redis: Check
    database: Check
    workers: list[str]
    engines: list[EngineStatus] = field(default_factory=list)

    @property
    def device(self) -> str:
        f = self.facts
        if f.device == "cuda":
            free = f" ({fmt_gb(f.gpu_free)} free)" if f.gpu_free else ""
            return f"GPU: {f.gpu_name}, {fmt_gb(f.gpu_total)}{free}"
        return "CPU only (no CUDA GPU visible to torch)"

    @property
    def healthy(self) -> bool:
        """Redis and the database answer; without them nothing runs."""
        return self.redis.ok and self.database.ok

    @property
    def ready_count(self) -> int:
        return sum(1 for e in self.engines if e.ready)


def _disk(name: str, path: Path) -> Check:
    free = machine.disk_free(path)
    if free is None:
        return Check(name, False, f"{path}: unreadable")
    return Check(name, True, f"{fmt_gb(free)} free ({path})")


def disk_checks() -> list[Check]:
    checks = [_disk("Models", Path(settings.STUDIO_MODELS_DIR))]
    if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
        checks.append(_disk("Media", Path(settings.MEDIA_ROOT)))
    else:
        checks.append(Check("Media", True, "object storage (S3-compatible): no local disk"))
    return checks


def redis_check() -> Check:
    import django_rq

    try:
        conn = django_rq.get_connection("default")
        conn.ping()
        version = conn.info("server").get("redis_version", "?")
    except Exception as exc:  # noqa: BLE001 - any failure is "unreachable", said plainly
        return Check("Redis", False, f"unreachable at {settings.REDIS_URL}: {exc}")
    return Check("Redis", True, f"Redis {version}, answering at {settings.REDIS_URL}")


def database_check() -> Check:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    try:
        connection.ensure_connection()
        if connection.vendor == "sqlite":
            version = connection.Database.sqlite_version
        else:
            version = str(getattr(connection, "pg_version", "") or "")
        executor = MigrationExecutor(connection)
        applied = len(executor.loader.applied_migrations)
        pending = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except Exception as exc:  # noqa: BLE001
        return Check("Database", False, f"unreachable: {exc}")
    detail = f"{connection.vendor} {version}, {applied} migrations applied"
    if pending:
        detail += f", {pending} pending: run manage.py migrate"
    return Check("Database", True, detail)


def worker_names() -> list[str]:
    """RQ workers registered in Redis, with their queues and state (empty if unreachable)."""
    import django_rq
    from rq import Worker

    try:
        workers = Worker.all(connection=django_rq.get_connection("default"))
    except Exception:  # noqa: BLE001 - the Redis check says why
        return []
    return sorted(f"{w.name} ({', '.join(w.queue_names())}; {w.get_state()})" for w in workers)


def machine_report() -> Report:
    redis = redis_check()
    return Report(
        facts=engines.machine_facts(),
        disks=disk_checks(),
        redis=redis,
        database=database_check(),
        workers=worker_names() if redis.ok else [],
        engines=engines.engine_statuses(),
    )


def report_lines(report: Report) -> list[str]:
    """The report as plain text, one fact a line (what `manage.py doctor` prints)."""
    f = report.facts
    lines = [
        f"Device: {report.device}",
        f"torch {f.torch_version or 'not installed'}; CUDA {f.cuda_version or 'none'}",
        f"RAM available: {fmt_gb(f.ram_available)}",
    ]
    lines += [f"Disk, {c.name.lower()}: {c.detail}" for c in report.disks]
    for check in (report.redis, report.database):
        lines.append(f"{check.name}: {'ok' if check.ok else 'FAILED'}: {check.detail}")
    lines.append(f"Workers: {', '.join(report.workers) if report.workers else 'none registered'}")
    lines.append(f"Engines ({report.ready_count} of {len(report.engines)} ready):")
    width = max((len(e.id) for e in report.engines), default=0)
    lines += [f"  {e.id:<{width}}  {e.state:<21}  {e.detail}".rstrip() for e in report.engines]
    return lines
