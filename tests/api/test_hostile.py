"""Hostile uploads to /v1: files that would make FFmpeg open other files, and broken ones."""

import contextlib
import io
import os
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from generation import video
from generation.spec import GenerationError
from tests.conftest import png_bytes

pytestmark = pytest.mark.django_db

ABSOLUTE_PATH = re.compile(r"(?:^|[\s'\"(:])/\w[\w.-]*/")
ENDPOINTS = [
    ("/videos/edits", {"prompt": "as ink"}),
    ("/videos/extensions", {"prompt": "and then", "seconds": "1"}),
]


class FifoWatch:
    """A FIFO that records whether anyone opened it: opening it to read unblocks our writer.

    A file FFmpeg was tricked into reading would be opened; this one tells us so without
    strace, and feeds the opener a real MP4 so nothing hangs.
    """

    def __init__(self, path: Path, payload: bytes):
        self.path = path
        self.opened = threading.Event()
        os.mkfifo(path)
        self._thread = threading.Thread(target=self._write, args=(payload,), daemon=True)
        self._thread.start()

    def _write(self, payload: bytes) -> None:
        with open(self.path, "wb") as f:  # Blocks until a reader opens the FIFO.
            self.opened.set()
            with contextlib.suppress(BrokenPipeError):
                f.write(payload)

    def close(self) -> None:
        if not self.opened.is_set():
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # Release the writer.
            self._thread.join(5)
            os.close(fd)
        self._thread.join(5)


@pytest.fixture
def secret_clip(tmp_path):
    """Another team's clip, as a FIFO, so we can tell whether anything opened it."""
    clip = tmp_path / "clip.mp4"
    video.encode_mp4(np.full((5, 32, 48, 3), 200, np.uint8), 8, clip)
    watch = FifoWatch(tmp_path / "their-clip.mp4", clip.read_bytes())
    yield watch
    watch.close()


def _upload(data: bytes, name: str) -> io.BytesIO:
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def _assert_refused(response, *names: str) -> str:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["param"] == "video", error
    assert not ABSOLUTE_PATH.search(error["message"]), error["message"]
    for name in names:
        assert name in error["message"], error["message"]
    return error["message"]


@pytest.mark.parametrize(("path", "fields"), ENDPOINTS)
def test_a_playlist_naming_another_file_is_refused_unopened(
    api, alice_key, secret_clip, path, fields
):
    playlist = (
        f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{secret_clip.path}\n#EXT-X-ENDLIST\n"
    )
    response = api.post_form(
        path, {**fields, "video": _upload(playlist.encode(), "a.m3u8")}, key=alice_key
    )
    message = _assert_refused(response, "a.m3u8", "MP4")
    assert str(secret_clip.path) not in message
    assert not secret_clip.opened.wait(0.5), "FFmpeg opened the file the playlist named"


@pytest.mark.parametrize(
    "text",
    [
        "ffconcat version 1.0\nfile '{path}'\n",  # A concat list.
        "#EXTM3U\n#EXTINF:1,\nfile:{path}\n",  # A playlist with a protocol.
        "#EXTM3U\n#EXTINF:1,\nconcat:{path}|{path}\n",
        '<?xml version="1.0"?><MPD><Period><AdaptationSet><Representation>'
        "<BaseURL>{path}</BaseURL></Representation></AdaptationSet></Period></MPD>",
    ],
)
def test_no_list_format_reaches_a_demuxer(secret_clip, tmp_path, text):
    listing = tmp_path / "list.mp4"  # The name claims MP4; the bytes decide.
    listing.write_text(text.format(path=secret_clip.path))
    with pytest.raises(GenerationError) as caught:
        video.probe(listing)
    assert caught.value.field == "video_path" and "MP4" in caught.value.message
    assert not secret_clip.opened.wait(0.2)


def test_an_image_sequence_pattern_is_not_expanded(tmp_path):
    for i in range(3):
        (tmp_path / f"img{i:03d}.png").write_bytes(png_bytes())
    with pytest.raises(GenerationError):
        video.probe(tmp_path / "img%03d.png")


def _truncated_png() -> bytes:
    data = png_bytes(64, 48)
    return data[: len(data) // 2]


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>'


def _mp4(tmp_path) -> bytes:
    path = tmp_path / "ok.mp4"
    video.encode_mp4(np.full((5, 32, 48, 3), 90, np.uint8), 8, path)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("cut.png", lambda tmp: _truncated_png()),
        ("picture.svg", lambda tmp: SVG),
        ("picture.png", lambda tmp: png_bytes()),
        ("head.mp4", lambda tmp: _mp4(tmp)[:40]),
        ("noise.mp4", lambda tmp: _mp4(tmp)[:8] + bytes(range(256)) * 8),
        ("empty.webm", lambda tmp: b""),
        ("ebml.webm", lambda tmp: b"\x1a\x45\xdf\xa3" + b"\x00" * 64),
    ],
)
@pytest.mark.parametrize(("path", "fields"), ENDPOINTS)
def test_broken_or_foreign_videos_are_400s_naming_the_parameter(
    api, alice_key, tmp_path, name, make, path, fields
):
    response = api.post_form(
        path, {**fields, "video": _upload(make(tmp_path), name)}, key=alice_key
    )
    message = _assert_refused(response, name)
    assert str(tmp_path) not in message


def test_reading_a_broken_video_never_quotes_its_path(tmp_path):
    broken = tmp_path / "deep" / "noise.mp4"
    broken.parent.mkdir()
    broken.write_bytes(_mp4(tmp_path)[:8] + bytes(range(256)) * 8)
    for read in (video.probe, video.read_video):
        with pytest.raises(GenerationError) as caught:
            read(broken)
        assert str(tmp_path) not in caught.value.message
        assert "noise.mp4" in caught.value.message


def test_allowed_containers_still_read(tmp_path):
    import av

    frames = np.full((4, 32, 48, 3), 120, np.uint8)
    webm = tmp_path / "clip.webm"
    with av.open(str(webm), "w") as out:
        stream = out.add_stream("libvpx", rate=8)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        for i, frame in enumerate(frames):
            f = av.VideoFrame.from_ndarray(frame, "rgb24")
            f.pts = i
            out.mux(stream.encode(f))
        out.mux(stream.encode(None))
    mp4 = tmp_path / "clip.mp4"
    video.encode_mp4(frames, 8, mp4)
    for path in (webm, mp4):
        info = video.probe(path)
        assert (info.width, info.height, info.num_frames) == (48, 32, 4)
        assert video.read_video(path)[0].shape == (4, 32, 48, 3)
