"""Request bodies through the real ASGI server (daphne), as clients send them."""

import http.client
import json
import uuid
from urllib.parse import urlsplit

import numpy as np
import pytest

from generation import video
from tests.live import running_studio

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_url(redis_conn, tmp_path):
    with running_studio(
        tmp_path, {"STUDIO_ENGINES": "animatic", "STUDIO_API_RATE_LIMIT": "0"}
    ) as url:
        yield url


def _post(url: str, path: str, body: bytes, headers: dict[str, str]):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("POST", path, body=body, headers={"Content-Length": str(len(body)), **headers})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = b""
    for name, value in fields.items():
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    for name, (filename, data) in files.items():
        out += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"prompt=hello"),  # No boundary.
        ("multipart/form-data; boundary=xyz", b"not the parts it promised"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data\r\n"),
    ],
)
def test_a_malformed_multipart_body_gets_the_json_error_shape(
    live_url, alice_key, content_type, body
):
    response, data = _post(
        live_url,
        "/v1/videos",
        body,
        {"Authorization": f"Bearer {alice_key}", "Content-Type": content_type},
    )
    assert 400 <= response.status < 500, (response.status, data)
    assert response.getheader("Content-Type") == "application/json", data
    error = json.loads(data)["error"]
    assert error["message"] and error["type"] == "invalid_request_error", error


def test_a_video_upload_reaches_the_studio_through_daphne(live_url, alice_key, tmp_path):
    clip = tmp_path / "mine.mp4"
    video.encode_mp4(np.full((5, 32, 48, 3), 90, np.uint8), 8, clip)
    body, content_type = _multipart(
        {"prompt": "as ink"}, {"video": ("mine.mp4", clip.read_bytes())}
    )
    response, data = _post(
        live_url,
        "/v1/videos/edits",
        body,
        {"Authorization": f"Bearer {alice_key}", "Content-Type": content_type},
    )
    # The upload was read and probed: only then does the studio find no engine that restyles.
    assert response.status == 400, data
    assert json.loads(data)["error"]["param"] == "model", data


def test_a_big_upload_reaches_the_studio_through_daphne_in_memory(live_url, alice_key, tmp_path):
    """Past Twisted's 100 kB, daphne keeps the body in memory (studio/asgi.py ArrivingBody)
    and hands it on in 1 MB pieces: 6.3 MB, not a multiple of them, arrives whole."""
    clip = tmp_path / "big.mp4"
    video.encode_mp4(np.full((5, 32, 48, 3), 90, np.uint8), 8, clip)
    pad = 6_300_000
    with clip.open("ab") as f:  # A `free` box: still a valid MP4, now 6.3 MB.
        f.write(pad.to_bytes(4, "big") + b"free" + np.random.default_rng(0).bytes(pad - 8))
    body, content_type = _multipart({"prompt": "as ink"}, {"video": ("big.mp4", clip.read_bytes())})
    response, data = _post(
        live_url,
        "/v1/videos/edits",
        body,
        {"Authorization": f"Bearer {alice_key}", "Content-Type": content_type},
    )
    assert response.status == 400, data
    assert json.loads(data)["error"]["param"] == "model", data
    # And a body cut short (the client says more than it sends, then leaves) is no 500.
    truncated = body[: len(body) // 2]
    parts = urlsplit(live_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.putrequest("POST", "/v1/videos/edits")
    for name, value in {
        "Authorization": f"Bearer {alice_key}",
        "Content-Type": content_type,
        "Content-Length": str(len(body)),
    }.items():
        conn.putheader(name, value)
    conn.endheaders(truncated)
    conn.close()
    response, data = _post(
        live_url,
        "/v1/videos/edits",
        body,
        {"Authorization": f"Bearer {alice_key}", "Content-Type": content_type},
    )
    assert response.status == 400 and json.loads(data)["error"]["param"] == "model", data
