"""The ASGI handler reads request bodies without copying them (spooling to disk past the
upload limit) and lets other requests run meanwhile."""

import asyncio

import pytest
from django.core.exceptions import RequestAborted

from studio.asgi import ArrivingBody, BodyChunks, StudioASGIHandler

CHUNK = b"x" * 8192


async def _read(messages: list[dict], ticks: list[int]) -> bytes:
    queue: asyncio.Queue = asyncio.Queue()
    for m in messages:
        queue.put_nowait(m)  # As daphne does: the whole body queued before the app runs.

    async def other_request():
        while True:
            ticks[0] += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_request())
    await asyncio.sleep(0)
    ticks[0] = 0
    try:
        body_file = await StudioASGIHandler().read_body(queue.get)
    finally:
        other.cancel()
    with body_file:
        return body_file.read()


def _body(n: int) -> list[dict]:
    return [{"type": "http.request", "body": CHUNK, "more_body": i < n - 1} for i in range(n)]


def test_a_big_body_is_read_whole_while_other_requests_run(settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
    n = 640  # 5 MB in daphne's 8 KB messages.
    ticks = [0]
    data = asyncio.run(_read(_body(n), ticks))
    assert data == CHUNK * n
    # Django's own read_body drains the queue without ever yielding to the event loop.
    assert ticks[0] >= 3


def test_an_empty_body_and_a_disconnect():
    ticks = [0]
    assert (
        asyncio.run(_read([{"type": "http.request", "body": b"", "more_body": False}], ticks))
        == b""
    )
    with pytest.raises(RequestAborted):
        asyncio.run(
            _read(
                [
                    {"type": "http.request", "body": CHUNK, "more_body": True},
                    {"type": "http.disconnect"},
                ],
                ticks,
            )
        )


def test_a_body_over_the_upload_limit_is_spooled_to_disk(settings):
    settings.STUDIO_MAX_UPLOAD_BYTES = 100_000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 50_000
    n = 400  # 3.2 MB: over the limit and its 1 MB margin for the form's other fields.
    body_file = asyncio.run(StudioASGIHandler().read_body(_queue_get(_body(n))))
    with body_file:
        assert not isinstance(body_file, BodyChunks) and body_file._rolled  # On disk.
        assert body_file.read() == CHUNK * n


def _queue_get(messages):
    queue: asyncio.Queue = asyncio.Queue()
    for m in messages:
        queue.put_nowait(m)
    return queue.get


@pytest.mark.parametrize("size", [1, 1000, 8192, 10_000, 65_536, 1 << 20])
def test_a_body_kept_as_its_messages_reads_back_in_any_piece_size(size):
    data = bytes(range(256)) * 400  # 102,400 bytes, in messages of uneven sizes.
    cuts = [0, 1, 8192, 8193, 50_000, 102_399, 102_400]
    body = BodyChunks([data[a:b] for a, b in zip(cuts, cuts[1:], strict=False)])
    pieces = []
    while piece := body.read(size):
        assert len(piece) <= size
        pieces.append(piece)
    assert b"".join(pieces) == data and body.read() == b""
    whole = BodyChunks([data[:10], data[10:]])
    assert whole.read(3) == data[:3] and whole.read() == data[3:]


def _arrive(body: ArrivingBody, data: bytes, piece: int = 65_536) -> None:
    for start in range(0, len(data), piece):  # As Twisted receives it, 64 kB at a time.
        body.write(data[start : start + piece])


def test_an_arriving_body_is_read_back_in_daphnes_pieces_and_then_let_go(settings):
    settings.STUDIO_MAX_UPLOAD_BYTES = 3 << 20
    data = bytes(range(256)) * (10_000 + 7)  # 2.4 MB, not a multiple of anything.
    held = ArrivingBody.held
    body = ArrivingBody(1 << 20)
    _arrive(body, data)
    assert body.tell() == len(data) and ArrivingBody.held == held + len(data)
    body.seek(0, 0)
    pieces = []
    while True:
        piece = body.read(1 << 20)
        pieces.append(piece)
        if len(piece) < 1 << 20:  # How daphne tells the last piece.
            break
    assert [len(p) for p in pieces] == [1 << 20, 1 << 20, len(data) - (2 << 20)]
    assert b"".join(pieces) == data and ArrivingBody.held == held
    body.close()
    assert ArrivingBody.held == held and body.closed


def test_arriving_bodies_past_the_memory_budget_go_to_disk(settings):
    settings.STUDIO_MAX_UPLOAD_BYTES = 200_000
    budget = ArrivingBody.BODIES_IN_MEMORY * (200_000 + (1 << 20))
    held = ArrivingBody.held
    first, second = ArrivingBody(1 << 20), ArrivingBody(1 << 20)
    _arrive(first, b"a" * (budget - held - 1000))
    _arrive(second, b"b" * 300_000)  # Over the budget with the first: on disk.
    assert second._spill is not None and first._spill is None
    assert ArrivingBody.held == budget - 1000
    second.seek(0)
    assert second.read() == b"b" * 300_000
    second.close()
    first.close()  # Unread (the client left): its memory is let go all the same.
    assert ArrivingBody.held == held


def _form_request(upload_bytes: int):
    import io
    import os
    import threading

    from django.core.files.uploadhandler import FileUploadHandler

    from studio.asgi import StudioASGIRequest

    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhi\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="a.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + b"v" * upload_bytes
        + f"\r\n--{boundary}--\r\n".encode()
    )
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/videos/edits",
        "query_string": b"",
        "headers": [
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    request = StudioASGIRequest(scope, io.BytesIO(body))
    seen: dict = {}

    class Recorder(FileUploadHandler):
        def new_file(self, *args, **kwargs):
            native = threading.get_native_id()
            seen["thread"] = threading.current_thread().name
            seen["nice"] = os.getpriority(os.PRIO_PROCESS, native)
            super().new_file(*args, **kwargs)

        def receive_data_chunk(self, raw_data, start):
            return raw_data

        def file_complete(self, file_size):
            return None

    request.upload_handlers.insert(0, Recorder())
    return request, seen


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="thread nice")
def test_an_upload_sized_form_is_parsed_at_a_lower_priority(settings):
    import os
    import threading

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100_000
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    request, seen = _form_request(300_000)
    assert request.POST["prompt"] == "hi" and request.FILES["video"].size == 300_000
    assert seen["thread"].startswith("upload-parser") and seen["nice"] == min(19, mine + 10)

    small, seen = _form_request(50_000)  # Under the in-memory size: parsed right here.
    assert small.FILES["video"].size == 50_000
    assert seen["thread"] == threading.current_thread().name and seen["nice"] == mine


def test_a_malformed_upload_sized_form_raises_as_before(settings):
    from django.http.multipartparser import MultiPartParserError

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100_000
    request, _ = _form_request(300_000)
    request.META["CONTENT_TYPE"] = "multipart/form-data; boundary="  # No boundary.
    with pytest.raises(MultiPartParserError):
        request.POST  # noqa: B018
