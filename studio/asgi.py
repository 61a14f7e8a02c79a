import asyncio
import collections
import io
import os
import tempfile

import django
from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler

BODY_MESSAGE_BYTES = 1 << 20


def _daphne_keeps_form_bodies_on_disk() -> None:
    """Stop daphne's Twisted request from parsing multipart bodies that Django parses anyway.

    Twisted's `Request` reads a whole multipart POST into memory and parses it with the
    `email` package (for `request.args`, which daphne never uses): one 50 MB upload cost
    the server 600 MB of memory. It takes `parsePOSTFormSubmission=False` to skip that;
    daphne does not pass it, so its request class is wrapped here, before the server
    builds any request. Django then streams the body from daphne's spool file to disk.
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

    http_protocol.WebRequest = WebRequest  # type: ignore[misc]


_daphne_keeps_form_bodies_on_disk()


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


class StudioASGIHandler(ASGIHandler):
    """Django's ASGI handler, reading request bodies without copying them or stalling others.

    daphne has the whole body before it calls the app and queues all of it at once, in
    1 MB messages. Django's own `read_body` copies every message into a spool file on the
    event loop without yielding: four 50 MB uploads kept `/login/` waiting half a second.
    Here a body up to `MEMORY_BYTES` (a little over the upload limit) is handed to Django
    as those very messages, yielding to other requests between them: no spool file
    written and read back, which was a third of an upload's CPU before Django's multipart
    parser. A longer body (or a server that streams one in slowly) goes to a spool file
    written from a thread, in 1 MB writes, the loop serving others meanwhile.
    """

    WRITE_BYTES = 1 << 20

    @property
    def memory_bytes(self) -> int:
        return settings.STUDIO_MAX_UPLOAD_BYTES + (1 << 20)  # The form fields around it.

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


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
django.setup(set_prefix=False)
django_asgi_app = StudioASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from studio.jobs.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
