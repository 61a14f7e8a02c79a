import asyncio
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


class StudioASGIHandler(ASGIHandler):
    """Django's ASGI handler, spooling request bodies to disk without stalling other requests.

    Django's own `read_body` copies every body message into its spool file on the event
    loop, and the server queues a whole body at once, so the loop never yields: four 50 MB
    uploads kept `/login/` waiting half a second. Here the messages are gathered into
    1 MB pieces and written from a thread, and the loop serves others in between.
    """

    WRITE_BYTES = 1 << 20

    async def read_body(self, receive):
        body_file = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (returned open)
            max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
        )
        pending: list[bytes] = []
        size = 0
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise RequestAborted()  # The client left before sending it all.
                if message.get("body"):
                    pending.append(message["body"])
                    size += len(message["body"])
                more = message.get("more_body", False)
                if size >= self.WRITE_BYTES or (pending and not more):
                    await asyncio.to_thread(body_file.writelines, pending)
                    pending, size = [], 0
                if not more:
                    break
        except BaseException:
            body_file.close()
            raise
        body_file.seek(0)
        return body_file


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
