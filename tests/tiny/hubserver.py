"""A stand-in for the model hub on loopback, serving a tiny pipeline's files, so the real
huggingface_hub client's download path (listing, per-file HEAD and GET, local-dir
metadata) runs in tests without the network. It counts the GETs of each file."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tests.tiny.hubcache import COMMIT, WAN_HUB_ID


class FakeHub:
    def __init__(self, pipeline_dir: Path, hub_id: str):
        self.root, self.hub_id = Path(pipeline_dir), hub_id
        self.files = {
            p.relative_to(self.root).as_posix(): p
            for p in sorted(self.root.rglob("*"))
            if p.is_file()
        }
        self.gets: Counter[str] = Counter()
        self.delay = 0.0
        """Seconds to pause after each 4 KB of a file, to keep a download running a while."""
        self.error: tuple[int, dict[str, str]] | None = None
        """(status, headers) every request gets instead, to play a gated or missing repo."""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _listing(self) -> dict:
        siblings = [
            {
                "rfilename": rel,
                "size": p.stat().st_size,
                "blobId": hashlib.sha1(p.read_bytes()).hexdigest(),
            }
            for rel, p in self.files.items()
        ]
        return {"id": self.hub_id, "modelId": self.hub_id, "sha": COMMIT, "siblings": siblings}

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _file(self) -> tuple[str, Path] | None:
                prefix = f"/{hub.hub_id}/resolve/{COMMIT}/"
                path = unquote(urlparse(self.path).path)
                if path.startswith(prefix) and path[len(prefix) :] in hub.files:
                    rel = path[len(prefix) :]
                    return rel, hub.files[rel]
                return None

            def _headers_for(self, path: Path) -> None:
                data = path.read_bytes()
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()

            def _refuse(self) -> bool:
                if hub.error is None:
                    return False
                status, headers = hub.error
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True

            def do_HEAD(self):
                if self._refuse():
                    return
                found = self._file()
                if found is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self._headers_for(found[1])

            def do_GET(self):
                if self._refuse():
                    return
                path = urlparse(self.path).path
                if path.startswith(f"/api/models/{hub.hub_id}"):
                    body = json.dumps(hub._listing()).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                found = self._file()
                if found is None:
                    self.send_error(404)
                    return
                hub.gets[found[0]] += 1
                self.send_response(200)
                self._headers_for(found[1])
                data = found[1].read_bytes()
                for start in range(0, len(data), 4096):
                    self.wfile.write(data[start : start + 4096])
                    if hub.delay:
                        time.sleep(hub.delay)

        return Handler

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        if self.server.socket.fileno() != -1:  # A test may have taken the hub away already.
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def wan_fake_hub(tiny_wan_dir, monkeypatch):
    """The tiny Wan pipeline served as `wan-t2v-1.3b`'s repository; network allowed."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with FakeHub(tiny_wan_dir, WAN_HUB_ID) as hub:
        yield hub
