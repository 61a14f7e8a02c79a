"""`make run` (scripts/run.sh) keeps the studio up: a killed process is restarted while the
others keep serving, and SIGTERM still stops everything. The studio runs as `make run`
runs it: its own Redis, SQLite and media under a temporary var directory."""

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest
from django.conf import settings

pytestmark = pytest.mark.slow

BASE = Path(settings.BASE_DIR)


@dataclass
class Studio:
    url: str
    var: Path
    env: dict[str, str]
    proc: subprocess.Popen | None = None

    def ctl(self, *args: str) -> str:
        return subprocess.run(
            [str(BASE / ".venv/bin/supervisorctl"), "-c", str(self.var / "supervisord.conf"),
             *args],
            capture_output=True, text=True, env=self.env,
        ).stdout.strip()  # fmt: skip

    def pids(self) -> dict[str, int]:
        """Each supervised process's PID, once all of them are running."""
        lines = [line.split() for line in self.ctl("status").splitlines()]
        return {p[0]: int(p[3].rstrip(",")) for p in lines if len(p) > 3 and p[1] == "RUNNING"}

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/login/", timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PROCESSES = 6  # Redis, 2 workers, the downloads worker, 2 web processes.


def _until(check, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return result


def start(studio: Studio, log: Path) -> None:
    studio.proc = subprocess.Popen(
        [str(BASE / "scripts/run.sh")],
        cwd=BASE,
        env=studio.env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # like a terminal: signals go to run.sh (supervisord) only
    )
    _until(studio.answers, 120, "the site")
    _until(lambda: len(studio.pids()) == PROCESSES, 60, "all processes")


def stop(studio: Studio) -> None:
    assert studio.proc is not None
    studio.proc.send_signal(signal.SIGTERM)
    studio.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    var = tmp_path_factory.mktemp("studio") / "var"
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "REDIS_URL",
            "DATABASE_URL",
            "MEDIA_ROOT",
            "SECRET_KEY",
            "SECRET_KEY_FILE",
            "FILE_UPLOAD_TEMP_DIR",
        )
    }
    env.update(
        HOST="127.0.0.1", PORT=str(port), STUDIO_VAR_DIR=str(var), STUDIO_WORKERS="2",
        STUDIO_WEB_PROCESSES="2",
        STUDIO_ENGINES="animatic", STUDIO_API_RATE_LIMIT="0", STUDIO_API_POLL_AFTER_MS="200",
    )  # fmt: skip
    s = Studio(url=f"http://127.0.0.1:{port}", var=var, env=env)
    log = var.parent / "run.log"
    try:
        start(s, log)
        yield s
    finally:
        if s.proc is not None and s.proc.poll() is None:
            s.proc.send_signal(signal.SIGTERM)
            try:
                s.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(s.proc.pid, signal.SIGKILL)
        sys.stderr.write(f"--- run.log\n{log.read_text(errors='replace')[-5000:]}\n")


@pytest.fixture(scope="module")
def client(studio):
    key = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", "ops", "--create-user"],
        cwd=BASE, env=studio.env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return openai.OpenAI(base_url=f"{studio.url}/v1", api_key=key, max_retries=5)


def completes(client: openai.OpenAI, *, timeout: float = 90.0) -> str:
    video = client.videos.create(prompt="a kite", model="animatic", seconds="1", size="128x96")
    deadline = time.monotonic() + timeout
    while video.status in ("queued", "in_progress"):
        assert time.monotonic() < deadline, f"{video.id} still {video.status}"
        time.sleep(0.3)
        video = client.videos.retrieve(video.id)
    assert video.status == "completed", video.error
    return video.id


def test_two_workers_two_web_processes_and_a_job(studio, client):
    pids = studio.pids()
    assert set(pids) == {
        "redis", "web:web-0", "web:web-1", "worker:worker-0", "worker:worker-1", "downloads"
    }  # fmt: skip
    completes(client)


def test_uploads_are_received_on_media_s_filesystem(studio):
    """Django writes an upload being received under var/, where media is: storing it is a
    rename, not a second copy (the system's /tmp is often another filesystem)."""
    uploads = studio.var / "tmp" / "uploads"
    assert uploads.is_dir()
    for name, pid in studio.pids().items():
        if name.startswith("web:"):
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert f"FILE_UPLOAD_TEMP_DIR={uploads}".encode() in environ


def test_each_web_process_serves_the_port_alone(studio, client):
    """Both daphne processes accept on the one port: with either stopped, the other serves
    every request (pages and the API)."""
    for down, up in (("web:web-0", "web:web-1"), ("web:web-1", "web:web-0")):
        serving = studio.pids()[up]
        assert "stopped" in studio.ctl("stop", down)
        try:
            assert all(studio.answers() for _ in range(20))
            completes(client)
            assert studio.pids()[up] == serving and down not in studio.pids()
        finally:
            studio.ctl("start", down)
        _until(lambda: len(studio.pids()) == PROCESSES, 30, f"{down} to start again")


def test_the_site_answers_while_a_killed_web_process_restarts(studio):
    before = studio.pids()
    os.kill(before["web:web-0"], signal.SIGKILL)
    failures = 0
    deadline = time.monotonic() + 30
    while (now := studio.pids()).get("web:web-0") in (None, before["web:web-0"]):
        assert time.monotonic() < deadline, "web-0 did not restart"
        failures += not studio.answers()
    assert failures == 0
    assert now["web:web-1"] == before["web:web-1"]


@pytest.mark.parametrize("setting", ["STUDIO_WORKERS", "STUDIO_WEB_PROCESSES"])
def test_a_process_count_that_is_not_a_number_is_refused(studio, setting):
    refused = subprocess.run(
        [str(BASE / "scripts/run.sh")], cwd=BASE, env={**studio.env, setting: "0"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2 and f"{setting} must be a number >= 1" in refused.stderr


def test_a_second_run_on_the_same_var_dir_refuses(studio):
    second = subprocess.run(
        [str(BASE / "scripts/run.sh")], cwd=BASE, env=studio.env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert second.returncode == 1 and "already running" in second.stderr
    assert studio.answers() and len(studio.pids()) == PROCESSES


@pytest.mark.parametrize("victim", ["worker:worker-0", "web:web-1", "redis"])
def test_a_killed_process_comes_back_and_the_rest_kept_running(studio, client, victim):
    before = studio.pids()
    os.kill(before[victim], signal.SIGKILL)
    after = _until(
        lambda: (p := studio.pids()) and len(p) == PROCESSES and p[victim] != before[victim] and p,
        30,
        f"{victim} to restart",
    )
    assert {k: v for k, v in after.items() if k != victim} == {
        k: v for k, v in before.items() if k != victim
    }
    _until(studio.answers, 30, "the site")
    completes(client)


SESSION_AND_PROJECT = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from studio.jobs.models import Generation
g = Generation.objects.select_related("requested_by").get(pk="{pk}")
s = SessionStore()
s[SESSION_KEY] = str(g.requested_by.pk)
s[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
s[HASH_SESSION_KEY] = g.requested_by.get_session_auth_hash()
s.create()
print(s.session_key, g.project_id)
"""


def _websocket(studio: Studio, path: str, session: str) -> socket.socket:
    """A websocket opened by hand (the handshake, then raw frames): no client library."""
    port = int(studio.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {studio.url}\r\nCookie: sessionid={session}\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def _text_frame(sock: socket.socket) -> str:
    """The next text frame the server sends (unmasked, unfragmented, as daphne sends)."""

    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            assert chunk, "the socket closed"
            data += chunk
        return data

    while True:
        first, second = exactly(2)
        length = second & 0x7F
        if length >= 126:
            length = int.from_bytes(exactly(2 if length == 126 else 8), "big")
        payload = exactly(length)
        assert first & 0x0F != 8, f"closed: {payload!r}"
        if first & 0x0F == 1:
            return payload.decode()


def _server_pid(studio: Studio, sock: socket.socket) -> int:
    """The web process holding the server end of a connection (from /proc/net/tcp)."""
    port, client_port = int(studio.url.rsplit(":", 1)[1]), sock.getsockname()[1]
    inode = next(
        fields[9]
        for fields in map(str.split, Path("/proc/net/tcp").read_text().splitlines()[1:])
        if int(fields[1].split(":")[1], 16) == port
        and int(fields[2].split(":")[1], 16) == client_port
    )

    def holds(pid: int) -> bool:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return True
            except FileNotFoundError:  # Closed meanwhile.
                pass
        return False

    webs = [pid for name, pid in studio.pids().items() if name.startswith("web:")]
    return next(pid for pid in webs if holds(pid))


def test_progress_reaches_sockets_on_either_web_process(studio, client):
    """A socket held by each daphne process gets a job's progress (through Redis)."""
    job = client.videos.create(prompt="a kite", model="animatic", seconds="1", size="128x96")
    session, project = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c",
         SESSION_AND_PROJECT.format(pk=job.id.removeprefix("video_"))],
        cwd=BASE, env={**studio.env, "SECRET_KEY_FILE": str(studio.var / "secret_key")},
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()[-1].split()  # fmt: skip
    path = f"/ws/projects/{project}/"
    studio.ctl("stop", "web:web-0")
    on_web_1 = _websocket(studio, path, session)  # web-1 alone accepts.
    studio.ctl("start", "web:web-0")
    _until(lambda: len(studio.pids()) == PROCESSES, 30, "web-0 to start again")
    web_1 = studio.pids()["web:web-1"]
    os.kill(web_1, signal.SIGSTOP)  # Frozen: web-0 accepts the next socket.
    try:
        on_web_0 = _websocket(studio, path, session)
    finally:
        os.kill(web_1, signal.SIGCONT)
    pids = studio.pids()
    assert _server_pid(studio, on_web_0) == pids["web:web-0"]
    assert _server_pid(studio, on_web_1) == pids["web:web-1"]
    with on_web_0, on_web_1:
        completes(client)
        for sock in (on_web_0, on_web_1):
            assert "<" in _text_frame(sock)  # A progress card's HTML.


def test_a_job_survives_its_worker_being_killed(studio, client):
    """kill -9 of the worker running a job: the job is retried and completes."""
    video = client.videos.create(
        prompt="a long kite", model="animatic", seconds="4", size="1280x720"
    )
    vid = video.id
    _until(lambda: client.videos.retrieve(vid).status == "in_progress", 60, "the job to run")
    for name, pid in studio.pids().items():
        if name.startswith("worker:"):
            os.kill(pid, signal.SIGKILL)  # whichever runs it
    deadline = time.monotonic() + 120
    while (video := client.videos.retrieve(vid)).status in ("queued", "in_progress"):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert video.status == "completed", video.error


def test_sigterm_stops_everything_and_the_key_is_kept(studio, client):
    pids = list(studio.pids().values())
    key_file = studio.var / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text()
    assert len(key.strip()) >= 50

    stop(studio)

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    assert all(gone(pid) for pid in pids), [p for p in pids if not gone(p)]
    assert not studio.answers()
    # Started again, it reuses the key, so sessions signed before the restart stay valid.
    start(studio, studio.var.parent / "run.log")
    assert key_file.read_text() == key
    completes(client)
