"""A real studio in child processes: daphne (ASGI) and an rqworker, on the test database."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

from tests.conftest import database_url_for_subprocess


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


@contextlib.contextmanager
def running_studio(tmp_path: Path, env: dict[str, str]):
    """Yield the base URL of a studio whose worker and server run as real processes.

    The caller's test must use the transactional database so the children see its rows.
    Their logs are printed when the block ends, so a failure shows what the server saw.
    """
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "MEDIA_ROOT": str(tmp_path / "media"),
        **env,
    }
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    commands = {
        "worker": [
            sys.executable, "manage.py", "rqworker", "default",
            "--worker-class", "studio.jobs.worker.StudioWorker",
        ],
        "daphne": [
            sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
            "studio.asgi:application",
        ],
    }  # fmt: skip
    procs = []
    try:
        for name, cmd in commands.items():
            with open(logs / f"{name}.log", "wb") as out:
                procs.append(
                    subprocess.Popen(
                        cmd, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
                    )
                )
        _wait_for_port(port, procs[1])
        yield f"http://127.0.0.1:{port}"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in sorted(logs.glob("*.log")):
            sys.stderr.write(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}\n")
