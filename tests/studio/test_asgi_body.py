"""The ASGI handler spools request bodies to disk and lets other requests run meanwhile."""

import asyncio

import pytest
from django.core.exceptions import RequestAborted

from studio.asgi import StudioASGIHandler

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
