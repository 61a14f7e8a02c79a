"""studio.media on both storages: local disk (MEDIA_ROOT) and a real S3 endpoint (moto)."""

import os
import threading
import urllib.request
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.core.files.storage import StorageHandler, default_storage, storages
from django.http import Http404
from django.test import AsyncRequestFactory, RequestFactory
from storages.backends.s3 import S3File, S3Storage

from studio import media
from tests.conftest import settings_from_env

# Larger than one chunk, and no byte pattern that could hide an off-by-one.
DATA = bytes((i * 7 + i // 256) % 256 for i in range(600_000))


@pytest.fixture
def video(tmp_path) -> Path:
    path = tmp_path / "render.mp4"
    path.write_bytes(DATA)
    return path


@pytest.fixture
def stored(media_storage, video) -> str:
    """A clip published on each backend in turn."""
    return media.publish(video, "clips/1/clip.mp4")


def stored_names(storage) -> list[str]:
    """What the backend itself holds, looked at without the helpers under test."""
    if isinstance(storage, S3Storage):
        from botocore.client import BaseClient

        client: BaseClient = storage.connection.meta.client
        listed = client.list_objects_v2(Bucket=storage.bucket_name, Prefix=storage.location)
        return sorted(o["Key"][len(storage.location) + 1 :] for o in listed.get("Contents", []))
    root = Path(storage.location)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def get(name, range_header=None, **kwargs):
    headers = {"Range": range_header} if range_header else {}
    request = RequestFactory().get("/media", headers=headers)
    return media.serve(request, name, "video/mp4", **kwargs)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


# Settings from the environment.


def test_media_is_on_local_disk_unless_a_bucket_is_named(monkeypatch):
    configured = settings_from_env(monkeypatch, {})["STORAGES"]
    assert configured["default"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    assert configured["staticfiles"]["BACKEND"].endswith("StaticFilesStorage")


def test_a_bucket_in_the_environment_selects_s3(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    configured = settings_from_env(
        monkeypatch,
        {
            "STUDIO_S3_BUCKET": "clips",
            "STUDIO_S3_ENDPOINT_URL": "http://minio:9000",
            "STUDIO_S3_ACCESS_KEY_ID": "studio",
            "STUDIO_S3_SECRET_ACCESS_KEY_FILE": str(secret),
            "STUDIO_S3_ADDRESSING_STYLE": "path",
        },
    )["STORAGES"]
    assert configured["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    storage = StorageHandler(configured)["default"]
    assert isinstance(storage, S3Storage)
    assert (storage.bucket_name, storage.endpoint_url) == ("clips", "http://minio:9000")
    assert (storage.access_key, storage.secret_key) == ("studio", "s3cr3t")
    assert storage.location == "media" and storage.addressing_style == "path"
    assert storage.querystring_auth and not storage.file_overwrite
    assert storage.region_name is None  # unset: boto3's own default applies
    assert configured["staticfiles"]["BACKEND"].endswith("StaticFilesStorage")


def test_the_s3_fixture_really_writes_to_the_bucket(s3_storage, s3_server, video):
    assert isinstance(s3_storage, S3Storage) and s3_storage is storages["default"]
    assert default_storage.location == s3_storage.location
    name = media.publish(video, "clips/1/clip.mp4")
    assert s3_server.keys(s3_storage.location) == [f"{s3_storage.location}/{name}"]
    head = s3_server.client().head_object(
        Bucket=s3_server.bucket, Key=f"{s3_storage.location}/{name}"
    )
    assert head["ContentLength"] == len(DATA) and head["ContentType"] == "video/mp4"


# Publish, local copies, delete: both backends.


def test_publish_then_local_copy_round_trips(media_storage, video):
    name = media.publish(video, "clips/1/clip.mp4")
    assert name == "clips/1/clip.mp4"
    assert stored_names(media_storage) == [name]
    assert video.read_bytes() == DATA  # the caller's file is left alone
    with media.local_copy(name) as path:
        assert path.read_bytes() == DATA
        assert path.suffix == ".mp4"
        copied = path
    # A temporary copy is gone after use; a local storage's own file stays.
    assert copied.exists() == (not isinstance(media_storage, S3Storage))
    assert stored_names(media_storage) == [name]


def test_publish_never_overwrites_and_returns_the_name_it_used(media_storage, video, tmp_path):
    first = media.publish(video, "clips/1/clip.mp4")
    other = tmp_path / "other.mp4"
    other.write_bytes(b"second take")
    second = media.publish(other, "clips/1/clip.mp4")
    assert second != first and second.startswith("clips/1/clip") and second.endswith(".mp4")
    assert stored_names(media_storage) == sorted([first, second])
    with media.local_copy(first) as a, media.local_copy(second) as b:
        assert (a.read_bytes(), b.read_bytes()) == (DATA, b"second take")


def test_publish_on_disk_never_shows_a_half_written_file(settings, tmp_path):
    """Feed publish through a pipe and look for the target while it waits for the rest."""
    target = Path(settings.MEDIA_ROOT) / "clips/1/clip.mp4"
    render = tmp_path / "render.mp4"
    os.mkfifo(render)
    seen_midway = []

    def render_slowly():
        with open(render, "wb") as out:
            # More than the pipe holds: when this returns, publish has read most of it.
            out.write(DATA[:400_000])
            out.flush()
            seen_midway.append(target.exists())
            out.write(DATA[400_000:])

    writer = threading.Thread(target=render_slowly)
    writer.start()
    name = media.publish(render, "clips/1/clip.mp4")
    writer.join()
    assert seen_midway == [False]
    assert name == "clips/1/clip.mp4" and target.read_bytes() == DATA
    assert [p.name for p in target.parent.iterdir()] == ["clip.mp4"]  # no staging leftovers
    assert target.stat().st_mode & 0o777 == 0o644  # FILE_UPLOAD_PERMISSIONS, not mkstemp's


def test_publish_records_the_content_type_on_s3(s3_storage, s3_server, tmp_path):
    sheet = tmp_path / "sheet.bin"
    sheet.write_bytes(b"\xff\xd8 jpeg-ish")
    name = media.publish(sheet, "clips/1/sprites", "image/jpeg")
    head = s3_server.client().head_object(
        Bucket=s3_server.bucket, Key=f"{s3_storage.location}/{name}"
    )
    assert head["ContentType"] == "image/jpeg"


def test_local_copy_of_a_missing_name_raises(media_storage):
    with pytest.raises(FileNotFoundError), media.local_copy("clips/none.mp4"):
        pass
    with pytest.raises(FileNotFoundError), media.local_copy(""):
        pass


def test_delete_removes_and_ignores_missing_or_empty_names(media_storage, video):
    keep = media.publish(video, "clips/1/keep.mp4")
    gone = media.publish(video, "clips/1/gone.mp4")
    media.delete(gone, "clips/1/never-was.mp4", "", None)
    assert stored_names(media_storage) == [keep]
    media.delete()
    assert stored_names(media_storage) == [keep]


def test_delete_is_seen_by_s3_itself(s3_storage, s3_server, video):
    name = media.publish(video, "clips/1/clip.mp4")
    assert s3_server.keys(s3_storage.location) == [f"{s3_storage.location}/{name}"]
    media.delete(name)
    assert s3_server.keys(s3_storage.location) == []


# Serving: both backends.


def test_serve_whole_file(stored):
    response = get(stored)
    assert response.status_code == 200
    assert body(response) == DATA
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Length"] == str(len(DATA))
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "private, max-age=3600"
    assert "Content-Range" not in response and "Content-Disposition" not in response


@pytest.mark.parametrize(
    "header, start, end",
    [
        ("bytes=0-99", 0, 99),
        ("bytes=-10", len(DATA) - 10, len(DATA) - 1),
        ("bytes=300000-", 300_000, len(DATA) - 1),
        ("bytes=262140-262150", 262_140, 262_150),  # across a chunk boundary
        (f"bytes=5-{len(DATA) + 1000}", 5, len(DATA) - 1),  # end clamped to the size
        (f"bytes=-{len(DATA) * 2}", 0, len(DATA) - 1),  # suffix longer than the file
    ],
)
def test_serve_a_byte_range(stored, header, start, end):
    response = get(stored, header)
    assert response.status_code == 206
    assert body(response) == DATA[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert response["Content-Length"] == str(end - start + 1)
    assert response["Content-Type"] == "video/mp4"
    assert response["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize("header", [f"bytes={len(DATA)}-", "bytes=10-5", "bytes=-0"])
def test_serve_an_unsatisfiable_range_is_416(stored, header):
    response = get(stored, header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(DATA)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5", "bytes=-"])
def test_serve_ignores_ranges_it_does_not_honour(stored, header):
    response = get(stored, header)
    assert response.status_code == 200 and body(response) == DATA


def test_serve_missing_or_unset_is_404(media_storage):
    with pytest.raises(Http404):
        get("clips/none.mp4")
    with pytest.raises(Http404):
        get("")


def test_serve_head_sends_headers_only(stored):
    request = RequestFactory().head("/media", headers={"Range": "bytes=10-19"})
    response = media.serve(request, stored, "video/mp4")
    assert response.status_code == 206 and response.content == b""
    assert response["Content-Length"] == "10"
    assert response["Content-Range"] == f"bytes 10-19/{len(DATA)}"


def test_serve_as_download(stored):
    response = get(stored, as_attachment=True, filename="clip-1-seed7.mp4")
    assert response["Content-Disposition"] == 'attachment; filename="clip-1-seed7.mp4"'
    assert body(response) == DATA
    inline = get(stored, filename="clip.mp4")
    assert inline["Content-Disposition"] == 'inline; filename="clip.mp4"'
    unnamed = media.serve(RequestFactory().get("/"), stored, as_attachment=True)
    assert unnamed["Content-Disposition"] == 'attachment; filename="clip.mp4"'
    assert unnamed["Content-Type"] == "video/mp4"  # guessed from the name


def test_serve_under_asgi_streams_asynchronously(stored):
    """Django's ASGI handler would buffer a synchronous body whole; ours is async there."""
    request = AsyncRequestFactory().get("/media", headers={"Range": "bytes=100-300099"})
    response = media.serve(request, stored, "video/mp4")
    assert response.status_code == 206 and response.is_async

    async def read():
        return b"".join([chunk async for chunk in response.streaming_content])

    assert async_to_sync(read)() == DATA[100:300100]


def test_serve_from_s3_fetches_only_the_range(s3_storage, monkeypatch, video):
    """S3File reads by downloading the whole object into memory; serve must not."""
    stored = media.publish(video, "clips/1/clip.mp4")

    def whole_download(self):
        raise AssertionError("the whole object was downloaded")

    monkeypatch.setattr(S3File, "file", property(whole_download))
    response = get(stored, "bytes=1000-1999")
    assert body(response) == DATA[1000:2000]
    with media.local_copy(stored) as path:
        assert path.read_bytes() == DATA


def test_serve_can_redirect_to_a_presigned_url(s3_storage, settings, video):
    stored = media.publish(video, "clips/1/clip.mp4")
    settings.STUDIO_S3_REDIRECT = True
    response = get(stored, as_attachment=True, filename="clip-1.mp4")
    assert response.status_code == 302
    url = response["Location"]
    assert "X-Amz-Signature=" in url and url.startswith(s3_storage.endpoint_url)
    with urllib.request.urlopen(
        urllib.request.Request(url, headers={"Range": "bytes=0-9"})
    ) as fetched:
        assert fetched.read() == DATA[:10]
        assert fetched.headers["Content-Type"] == "video/mp4"
        assert fetched.headers["Content-Disposition"] == 'attachment; filename="clip-1.mp4"'
    with pytest.raises(Http404):
        get("clips/none.mp4")


def test_redirect_setting_leaves_local_files_streamed(settings, video):
    stored = media.publish(video, "clips/1/clip.mp4")
    settings.STUDIO_S3_REDIRECT = True
    response = get(stored)
    assert response.status_code == 200 and body(response) == DATA


def test_serve_answers_conditional_requests_with_304(stored):
    first = get(stored, cache_control=media.IMMUTABLE)
    assert first["Cache-Control"] == "private, max-age=31536000, immutable"
    etag, modified = first["ETag"], first["Last-Modified"]
    assert etag.startswith('"') and modified.endswith("GMT")
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        request = RequestFactory().get("/media", headers=headers)
        again = media.serve(request, stored, "video/mp4")
        assert again.status_code == 304 and again["ETag"] == etag
        assert not getattr(again, "streaming", False) and again.content == b""
    request = RequestFactory().get("/media", headers={"If-None-Match": '"something-else"'})
    assert media.serve(request, stored, "video/mp4").status_code == 200
    # Another file gets another tag.
    other = media.publish(Path(__file__), "clips/1/other.mp4")
    assert get(other)["ETag"] != etag
