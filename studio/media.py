"""Media at the edge: storage names in, local files and HTTP responses out.

Models and recipes hold storage names (DESIGN "Data model"). These helpers are where a
name meets a real file or a response, so local disk and an S3 bucket stay one setting
apart: everything goes through `default_storage` (or the storage given). This module sits
below the apps and imports none of them.
"""

import hashlib
import logging
import mimetypes
import os
import re
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation, SuspiciousOperation
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.core.handlers.asgi import ASGIRequest
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.utils.cache import get_conditional_response
from django.utils.http import content_disposition_header, http_date

logger = logging.getLogger(__name__)

CHUNK_SIZE = 256 * 1024
RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)$")
CACHE_CONTROL = "private, max-age=3600"
IMMUTABLE = "private, max-age=31536000, immutable"
"""For URLs whose bytes never change (a clip's files: stored names are never reused)."""


def _local_path(storage: Storage, name: str) -> Path | None:
    """Return where the storage keeps `name` on this machine, or None (S3 has no paths).

    A name that escapes the storage (absolute, `..`) names nothing in it: FileNotFoundError,
    so callers report a missing file instead of a server path.
    """
    try:
        return Path(storage.path(name))
    except NotImplementedError:
        return None
    except SuspiciousFileOperation:
        raise FileNotFoundError("The name is outside media storage.") from None


def _open(storage: Storage, name: str) -> File:
    try:
        return storage.open(name, "rb")
    except SuspiciousOperation:
        raise FileNotFoundError("The name is outside media storage.") from None


@contextmanager
def local_copy(name: str, *, storage: Storage | None = None) -> Iterator[Path]:
    """Yield a local file holding the stored bytes, for tools that need a path (FFmpeg, PIL).

    Local storage yields its own file, uncopied: read it, never write it. Other storages
    stream the object into a temporary file (keeping the suffix, which decoders sniff)
    that is deleted on exit. A missing name raises FileNotFoundError.
    """
    storage = storage or default_storage
    if not name:
        raise FileNotFoundError("No file name.")
    path = _local_path(storage, name)
    if path is not None:
        if not path.is_file():
            raise FileNotFoundError(name)
        yield path
        return
    src = _open(storage, name)
    fd, tmp = tempfile.mkstemp(
        prefix="studio-", suffix=Path(name).suffix, dir=settings.FILE_UPLOAD_TEMP_DIR
    )
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in _Chunks(src, 0, src.size):
                out.write(chunk)
        yield Path(tmp)
    finally:
        src.close()
        Path(tmp).unlink(missing_ok=True)


class _StagedFile(File):
    """A copy already beside its target, which FileSystemStorage renames into place.

    Storage.save moves anything with `temporary_file_path()` (file_move_safe: a rename on
    one filesystem) instead of writing the target byte by byte where readers can see it.
    """

    def temporary_file_path(self) -> str:
        return self.file.name


def publish(
    local_file: str | os.PathLike[str],
    name: str,
    content_type: str | None = None,
    *,
    storage: Storage | None = None,
) -> str:
    """Store a finished local file under `name`; return the name it got.

    The storage never overwrites: a taken name gets a random suffix, so keep the returned
    name. On local disk the file is staged beside its target and renamed, so no reader
    ever sees half a file; an S3 object appears whole when its upload completes. The local
    file is left in place for the caller.
    """
    storage = storage or default_storage
    target = _local_path(storage, name)
    if target is None:
        with open(local_file, "rb") as fh:
            content = File(fh, name=name)
            content.content_type = content_type  # None: the storage guesses from the name
            return storage.save(name, content)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, staged = tempfile.mkstemp(prefix=".publishing-", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(local_file, "rb") as src:
            shutil.copyfileobj(src, out, CHUNK_SIZE)
        with open(staged, "rb") as fh:
            return storage.save(name, _StagedFile(fh, name=name))
    finally:
        Path(staged).unlink(missing_ok=True)


def exists(name: str | None, *, storage: Storage | None = None) -> bool:
    """Whether a stored file is there; an empty name (an unset field) or one outside
    storage is not."""
    if not name:
        return False
    try:
        return (storage or default_storage).exists(name)
    except SuspiciousOperation:
        return False


def delete(*names: str | None, storage: Storage | None = None) -> None:
    """Delete each stored name; missing files, empty names (unset fields) and names
    outside storage (nothing of ours) are skipped."""
    storage = storage or default_storage
    for name in names:
        if not name:
            continue
        try:
            storage.delete(name)
        except SuspiciousOperation:
            logger.warning("Not deleting %r: it is outside media storage", name)


def sha256(name: str, *, storage: Storage | None = None) -> str:
    """The SHA-256 of a stored file, read in chunks (ranged reads on S3, never whole)."""
    file = _open(storage or default_storage, name)
    digest = hashlib.sha256()
    for chunk in _Chunks(file, 0, file.size):
        digest.update(chunk)
    return digest.hexdigest()


def serve(
    request: HttpRequest,
    name: str | None,
    content_type: str | None = None,
    *,
    filename: str | None = None,
    as_attachment: bool = False,
    storage: Storage | None = None,
    cache_control: str = CACHE_CONTROL,
) -> HttpResponseBase:
    """Respond with a stored file, honouring one byte range so browsers can seek in video.

    Responses carry an ETag (from the name and size: stored names are never reused) and
    Last-Modified where the storage knows it; a request that already holds the file
    (If-None-Match, If-Modified-Since) gets a bodiless 304.

    Call it after the view has checked access: the bytes are streamed through Django, for
    S3 too, so that check holds. With STUDIO_S3_REDIRECT a storage without local files
    answers with a redirect to a short-lived presigned URL instead. A missing file is a
    404; an unsatisfiable range a 416; HEAD gets the headers alone.
    """
    if not name:
        raise Http404("The file is missing.")
    storage = storage or default_storage
    content_type = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    disposition = content_disposition_header(
        as_attachment, filename or (Path(name).name if as_attachment else None)
    )
    try:
        if settings.STUDIO_S3_REDIRECT and _local_path(storage, name) is None:
            return _redirect(storage, name, content_type, disposition)
        file = _open(storage, name)
    except FileNotFoundError:
        raise Http404("The file is missing.") from None
    size = file.size
    validators = _validators(storage, name, size)
    cached = get_conditional_response(request, **validators)
    if cached is not None:  # 304 Not Modified (or 412 for a failed If-Match)
        file.close()
        _cache_headers(cached, validators, cache_control)
        return cached
    try:
        byte_range = _requested_range(request.headers.get("Range", ""), size)
    except ValueError:
        file.close()
        response: HttpResponseBase = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    start, end = byte_range or (0, size - 1)
    status = 200 if byte_range is None else 206
    if request.method == "HEAD":
        file.close()
        response = HttpResponse(status=status, content_type=content_type)
    else:
        chunks = _Chunks(file, start, end - start + 1)
        body = _AsyncChunks(chunks) if isinstance(request, ASGIRequest) else chunks
        response = StreamingHttpResponse(body, status=status, content_type=content_type)
    response["Content-Length"] = str(end - start + 1)
    if byte_range is not None:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    if disposition:
        response["Content-Disposition"] = disposition
    response["Accept-Ranges"] = "bytes"
    _cache_headers(response, validators, cache_control)
    return response


def _validators(storage: Storage, name: str, size: int) -> dict[str, Any]:
    etag = hashlib.sha256(f"{name}:{size}".encode()).hexdigest()[:24]
    try:
        last_modified: int | None = int(storage.get_modified_time(name).timestamp())
    except (NotImplementedError, OSError):
        last_modified = None
    return {"etag": f'"{etag}"', "last_modified": last_modified}


def _cache_headers(response: HttpResponseBase, validators: dict[str, Any], cache: str) -> None:
    response["ETag"] = validators["etag"]
    if validators["last_modified"] is not None:
        response["Last-Modified"] = http_date(validators["last_modified"])
    response["Cache-Control"] = cache


def _requested_range(header: str, size: int) -> tuple[int, int] | None:
    """Return the inclusive (start, end) a Range header asks for, None for the whole file.

    Only one `bytes=` range is honoured; anything else (several ranges, other units) is
    ignored, which RFC 9110 allows, and the whole file is sent. Raise ValueError when the
    range cannot be satisfied (it starts past the end, or ends before it starts).
    """
    match = RANGE_RE.match(header)
    if not match or not (match.group(1) or match.group(2)):
        return None
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    else:
        start, end = max(0, size - int(last)), size - 1
    if start >= size or start > end:
        raise ValueError(header)
    return start, end


def _redirect(
    storage: Storage, name: str, content_type: str, disposition: str | None
) -> HttpResponseRedirect:
    """Send the client to a presigned URL that carries our type and disposition."""
    if not storage.exists(name):
        raise Http404("The file is missing.")
    parameters = {"ResponseContentType": content_type}
    if disposition:
        parameters["ResponseContentDisposition"] = disposition
    response = HttpResponseRedirect(storage.url(name, parameters=parameters))  # type: ignore[call-arg]
    response["Cache-Control"] = "private, no-store"  # the URL expires
    return response


def _s3_object(file: File) -> Any | None:
    """Return the boto3 Object behind a django-storages S3 file, else None.

    Reading an S3File downloads the whole object into memory first; its Object can fetch
    just the range asked for. Looked up in sys.modules: if django-storages' S3 backend was
    never imported, this cannot be one of its files, and boto3 stays unloaded.
    """
    s3 = sys.modules.get("storages.backends.s3")
    return file.obj if s3 is not None and isinstance(file, s3.S3File) else None


class _Chunks:
    """Bytes `start` to `start + length` of an open storage file, a chunk at a time.

    The file is closed at the end, or by `close()`, which a response calls even when the
    client left before the body was read.
    """

    def __init__(self, file: File, start: int, length: int) -> None:
        self.file, self.start, self.length = file, start, length

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._read()
        finally:
            self.close()

    def _read(self) -> Iterator[bytes]:
        if self.length <= 0:
            return
        obj = _s3_object(self.file)
        if obj is not None:
            last = self.start + self.length - 1
            body = obj.get(Range=f"bytes={self.start}-{last}")["Body"]
            try:
                yield from body.iter_chunks(CHUNK_SIZE)
            finally:
                body.close()
            return
        self.file.seek(self.start)
        left = self.length
        while left > 0:
            data = self.file.read(min(CHUNK_SIZE, left))
            if not data:
                return
            left -= len(data)
            yield data

    def close(self) -> None:
        self.file.close()


class _AsyncChunks:
    """The same chunks for an ASGI server, each read in a worker thread.

    Django's ASGI handler collects a synchronous streaming body into one list before
    sending it, which would hold a whole video in memory per request. The reads leave the
    thread that runs sync views (`thread_sensitive=False`) so a slow download never
    queues the rest of the site behind it.
    """

    def __init__(self, chunks: _Chunks) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        read = sync_to_async(_next_chunk, thread_sensitive=False)
        iterator = iter(self.chunks)
        while chunk := await read(iterator):
            yield chunk

    def close(self) -> None:
        self.chunks.close()


def _next_chunk(iterator: Iterator[bytes]) -> bytes:
    return next(iterator, b"")
