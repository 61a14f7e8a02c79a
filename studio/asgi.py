import asyncio
import collections
import io
import os
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

import django
from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, ASGIRequest

BODY_MESSAGE_BYTES = 1 << 20


def _upload_body_bytes() -> int:
    """The longest body kept in memory: an upload at the limit and the form around it."""
    return settings.STUDIO_MAX_UPLOAD_BYTES + (1 << 20)


def _daphne_reads_bodies_into_memory() -> None:
    """Have daphne's Twisted request keep an upload-sized body in memory, unparsed.

    Twisted's `Request` reads a whole multipart POST into memory and parses it with the
    `email` package (for `request.args`, which daphne never uses): one 50 MB upload cost
    the server 600 MB of memory. It takes `parsePOSTFormSubmission=False` to skip that;
    daphne does not pass it, so its request class is wrapped here, before the server
    builds any request.

    Twisted also writes each body over 100 kB to a temporary file on the event loop, in
    64 kB writes, and daphne then reads all of it back in one go (on the event loop too)
    to queue it for the app: that disk round trip was most of the loop's time during
    uploads. A body up to the upload limit is kept in memory instead (`ArrivingBody`),
    which costs no more than before (daphne queued every body whole in memory anyway).
    """
    try:
        from daphne import http_protocol
    except ImportError:  # Another ASGI server.
        return
    base = http_protocol.WebRequest
    if getattr(base, "studio_skips_form_parsing", False):
        return

    class WebRequest(base):  # type: ignore[misc,valid-type]
        studio_skips_form_parsing = True

        def __init__(self, *args, **kwargs):
            kwargs["parsePOSTFormSubmission"] = False
            super().__init__(*args, **kwargs)
            # daphne hands a body to the app in one loop on the event loop: in 8 KB
            # messages, a 50 MB upload stalled every other request for 70 ms; in 1 MB
            # ones, 9 ms. Its command line has no option for this server-wide size.
            if self.server.request_buffer_size < BODY_MESSAGE_BYTES:
                self.server.request_buffer_size = BODY_MESSAGE_BYTES

        def gotLength(self, length):
            if length is not None and 100_000 <= length <= _upload_body_bytes():
                self.content = ArrivingBody(self.server.request_buffer_size, length)
            else:  # Small (Twisted keeps it in memory), unknown or too big (a temp file).
                super().gotLength(length)

    http_protocol.WebRequest = WebRequest  # type: ignore[misc]


class BodyChunks(io.RawIOBase):
    """A request body kept as the server's messages, read once front to back; each message
    is dropped once read, so memory is freed as Django parses the body."""

    def __init__(self, chunks: list[bytes]):
        super().__init__()
        self._chunks = collections.deque(chunks)
        self._offset = 0  # Into the first chunk.

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = sum(map(len, self._chunks)) - self._offset
        parts = []
        while size > 0 and self._chunks:
            chunk = self._chunks[0]
            part = (
                chunk[self._offset : self._offset + size]
                if self._offset or size < len(chunk)
                else chunk
            )
            parts.append(part)
            size -= len(part)
            self._offset += len(part)
            if self._offset == len(chunk):
                self._chunks.popleft()
                self._offset = 0
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._chunks.clear()
        super().close()


class ArrivingBody(BodyChunks):
    """A request body as Twisted receives it (its `content` file): kept in memory, copied
    once into pieces of the size daphne reads (so its reads copy nothing), each dropped
    once read. Past `BODIES_IN_MEMORY` upload-sized bodies held at once in this process,
    a body goes on in a temporary file, as Twisted would have written it, so that many
    slow uploads arriving together do not hold all their bytes in memory.
    """

    BODIES_IN_MEMORY = 4
    held = 0  # Bytes held by all of them (they all live on the server's event loop thread).

    def __init__(self, piece_bytes: int, length: int | None = None):
        super().__init__([])
        # The piece being filled: one buffer reused for every piece, each copied out once.
        self._piece = bytearray(min(piece_bytes, length or piece_bytes))
        self._filled = 0
        self._held = 0
        self._size = 0
        self._spill: BinaryIO | None = None

    def writable(self) -> bool:
        return True

    def _hold(self, n: int) -> None:
        self._held += n
        ArrivingBody.held += n

    def write(self, data) -> int:
        self._size += len(data)
        if self._spill is None and (
            ArrivingBody.held + len(data) > self.BODIES_IN_MEMORY * _upload_body_bytes()
        ):
            self._spill = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
            self._spill.writelines([*self._chunks, memoryview(self._piece)[: self._filled]])
            self._chunks.clear()
            self._piece, self._filled = bytearray(), 0
            self._hold(-self._held)
        if self._spill is not None:
            return self._spill.write(data)
        if not self._piece:
            raise io.UnsupportedOperation("An arriving body is written before it is read.")
        self._hold(len(data))
        view = memoryview(data)
        while view:
            n = min(len(view), len(self._piece) - self._filled)
            self._piece[self._filled : self._filled + n] = view[:n]
            self._filled += n
            view = view[n:]
            if self._filled == len(self._piece):
                self._chunks.append(bytes(self._piece))
                self._filled = 0
        return len(data)

    def tell(self) -> int:
        """The body's length; Twisted asks once it has all of it, before any read."""
        return self._size

    def seek(self, offset: int, whence: int = 0) -> int:
        """Back to the start, which Twisted and daphne do before reading; only that."""
        if (offset, whence) != (0, 0):
            raise io.UnsupportedOperation("An arriving body is read once, from its start.")
        if self._spill is not None:
            return self._spill.seek(0)
        if self._filled:
            self._chunks.append(bytes(memoryview(self._piece)[: self._filled]))
        self._piece, self._filled = bytearray(), 0
        return 0

    def read(self, size: int | None = -1) -> bytes:
        if self._spill is not None:
            return self._spill.read(-1 if size is None else size)
        data = super().read(size)
        self._hold(-len(data))
        return data

    def close(self) -> None:
        self._hold(-self._held)
        self._piece, self._filled = bytearray(), 0
        if self._spill is not None:
            self._spill.close()
        super().close()


UPLOAD_NICENESS = 10


def _lower_this_threads_priority() -> None:
    """Linux schedules threads, and a thread may lower its own priority (not raise it)."""
    if sys.platform == "linux":
        thread = threading.get_native_id()
        try:
            nice = os.getpriority(os.PRIO_PROCESS, thread)  # The process's, inherited.
            os.setpriority(os.PRIO_PROCESS, thread, min(19, nice + UPLOAD_NICENESS))
        except OSError:  # A sandbox that forbids it: parse at the usual priority.
            pass


# Parses upload-sized forms at a lower CPU priority than the studio's other work.
_upload_parsers = ThreadPoolExecutor(
    max_workers=4, thread_name_prefix="upload-parser", initializer=_lower_this_threads_priority
)


class StudioASGIRequest(ASGIRequest):
    """A request whose upload-sized form is parsed at a lower CPU priority.

    Parsing a 50 MB multipart body is bulk work (mostly writing the upload's file): on a
    2-core machine, four of them at once took the CPU from everyone else's short requests.
    A form past the in-memory size is parsed in a thread at nice 10, which still has the
    CPU when nothing else wants it; this request's thread waits for it, without the GIL.
    Errors are raised here as they would have been (`MultiPartParserError` and others).
    """

    def _load_post_and_files(self):
        try:
            length = int(self.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if (
            self.method == "POST"
            and self.content_type == "multipart/form-data"
            and settings.FILE_UPLOAD_MAX_MEMORY_SIZE < length <= _upload_body_bytes()
            and not threading.current_thread().name.startswith("upload-parser")
        ):
            _upload_parsers.submit(super()._load_post_and_files).result()
        else:
            super()._load_post_and_files()


class StudioASGIHandler(ASGIHandler):
    """Django's ASGI handler, reading request bodies without copying them or stalling others.

    daphne has the whole body before it calls the app and queues all of it at once, in
    1 MB messages. Django's own `read_body` copies every message into a spool file on the
    event loop without yielding: four 50 MB uploads kept `/login/` waiting half a second.
    Here a body up to `memory_bytes` (a little over the upload limit) is handed to Django
    as those very messages, yielding to other requests between them: no spool file
    written to disk and read back before Django's multipart parser writes the upload's
    own file. A longer body (or a server that streams one in slowly) goes to a spool file
    written from a thread, in 1 MB writes, the loop serving others meanwhile.
    """

    WRITE_BYTES = 1 << 20
    request_class = StudioASGIRequest

    @property
    def memory_bytes(self) -> int:
        return _upload_body_bytes()

    async def read_body(self, receive):
        chunks: list[bytes] = []
        size = 0  # Of `chunks`.
        body_file = None
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise RequestAborted()  # The client left before sending it all.
                if message.get("body"):
                    chunks.append(message["body"])
                    size += len(message["body"])
                more = message.get("more_body", False)
                if body_file is None and size > self.memory_bytes:
                    body_file = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (returned open)
                        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
                    )
                if body_file is not None and (size >= self.WRITE_BYTES or not more):
                    await asyncio.to_thread(body_file.writelines, chunks)
                    chunks, size = [], 0
                if not more:
                    break
                await asyncio.sleep(0)  # Other requests run between two messages.
        except BaseException:
            if body_file is not None:
                body_file.close()
            raise
        if body_file is None:
            return BodyChunks(chunks)
        body_file.seek(0)
        return body_file


_daphne_reads_bodies_into_memory()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
django.setup(set_prefix=False)
django_asgi_app = StudioASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from studio.jobs.routing import websocket_urlpatterns  # noqa: E402
from studio.library.routing import websocket_urlpatterns as library_websockets  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns + library_websockets))
        ),
    }
)
