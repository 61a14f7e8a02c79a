"""The official `openai` SDK, unmodified, against a real studio: daphne, an rqworker, Redis.

Engines: the animatic, and the tiny offline Wan and LTX pipelines loaded from disk by the
worker process, so every call below runs a real pipeline end to end.
"""

import io

import av
import openai
import pytest
from PIL import Image

from studio.jobs.models import Clip, Generation
from tests.conftest import png_bytes
from tests.live import running_studio

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

POLL = {"poll_interval_ms": 100}
TINY = {"steps": 2, "seed": 7}


@pytest.fixture
def studio_url(redis_conn, tmp_path, tiny_wan_dir, tiny_ltx_dir):
    env = {
        "STUDIO_ENGINES": "animatic,wan,ltx",
        "STUDIO_WAN_MODEL": str(tiny_wan_dir),
        "STUDIO_LTX_MODEL": str(tiny_ltx_dir),
        # Polling every 100 ms would trip the default 60/min limit.
        "STUDIO_API_RATE_LIMIT": "0",
    }
    with running_studio(tmp_path, env) as url:
        yield url


@pytest.fixture
def strict_studio_url(redis_conn, tmp_path):
    env = {"STUDIO_ENGINES": "animatic", "STUDIO_API_RATE_LIMIT": "25"}
    with running_studio(tmp_path, env) as url:
        yield url


def _client(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=60)


def _frames(data: bytes) -> tuple[int, int, int]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        return stream.width, stream.height, count


def test_sdk_session(studio_url, alice_key, tmp_path):
    client = _client(studio_url, alice_key)

    # Text to video on the animatic, then every downloadable variant.
    first = client.videos.create_and_poll(
        prompt="a lighthouse at dusk", model="animatic", seconds="1", size="96x64", **POLL
    )
    assert (first.status, first.progress, first.error) == ("completed", 100, None)
    assert (first.model, first.size, first.seconds) == ("animatic", "96x64", "1")
    mp4 = client.videos.download_content(first.id).content
    assert _frames(mp4) == (96, 64, 24)
    thumb = Image.open(
        io.BytesIO(client.videos.download_content(first.id, variant="thumbnail").content)
    )
    assert (thumb.format, thumb.size) == ("JPEG", (96, 64))
    sheet = Image.open(
        io.BytesIO(client.videos.download_content(first.id, variant="spritesheet").content)
    )
    assert sheet.format == "JPEG" and sheet.size[0] == 4 * 256

    # Image to video with an uploaded reference image.
    still = client.videos.create_and_poll(
        prompt="slow push in",
        model="animatic",
        seconds="0.5",
        size="96x64",
        input_reference=("still.png", png_bytes(120, 80), "image/png"),
        **POLL,
    )
    assert still.status == "completed", still.error
    assert Generation.objects.get(pk=still.id.removeprefix("video_")).mode == "image_to_video"

    # The tiny Wan pipeline, with studio extras passed through extra_body.
    wan = client.videos.create_and_poll(
        prompt="waves on rocks", model="wan", seconds="0.5", size="32x32", extra_body=TINY, **POLL
    )
    assert wan.status == "completed", wan.error
    assert _frames(client.videos.download_content(wan.id).content) == (32, 32, 9)

    # Remix: the same recipe and seed with a new prompt; lineage recorded.
    remix = client.videos.poll(client.videos.remix(wan.id, prompt="waves at night").id, **POLL)
    assert remix.status == "completed", remix.error
    assert remix.remixed_from_video_id == wan.id and remix.prompt == "waves at night"
    remix_row = Generation.objects.get(pk=remix.id.removeprefix("video_"))
    assert remix_row.recipe["seed"] == 7
    assert Clip.objects.get(generation=remix_row).parent_clip.generation_id.hex == wan.id[6:]

    # Edit (video to video) with Wan, chosen automatically. SDK 3.54 refuses a
    # `video={"id": ...}` reference client-side (it expects a file there), so the
    # reference goes in extra_body, as the README shows.
    edit = client.videos.edit(
        video=openai.omit, extra_body={"video": {"id": wan.id}}, prompt="as a watercolor painting"
    )
    edit = client.videos.poll(edit.id, **POLL)
    assert edit.status == "completed", edit.error
    assert edit.remixed_from_video_id == wan.id
    assert _frames(client.videos.download_content(edit.id).content)[:2] == (32, 32)

    # Extension with LTX: the result is the stitched total.
    ltx = client.videos.create_and_poll(
        prompt="a boat", model="ltx", seconds="0.375", size="32x32", extra_body=TINY, **POLL
    )
    assert ltx.status == "completed", ltx.error
    # Uploading the downloaded MP4 works too; being our own file, byte for byte, the
    # extension still records the clip it came from.
    ltx_mp4 = client.videos.download_content(ltx.id).content
    longer = client.videos.extend(
        video=("boat.mp4", ltx_mp4, "video/mp4"), prompt="the boat sails on", seconds="0.375"
    )
    longer = client.videos.poll(longer.id, **POLL)
    assert longer.status == "completed", longer.error
    assert longer.remixed_from_video_id == ltx.id
    assert float(longer.seconds) > float(ltx.seconds)
    width, height, count = _frames(client.videos.download_content(longer.id).content)
    assert (width, height) == (32, 32) and count > 9

    # Listing pages through everything, newest first, two at a time.
    made = [first, still, wan, remix, edit, ltx, longer]
    page = client.videos.list(limit=2)
    assert len(page.data) == 2 and page.has_more
    listed = [v.id for v in client.videos.list(limit=2)]
    assert listed == [v.id for v in reversed(made)]
    assert [v.id for v in client.videos.list(limit=3, order="asc")] == [v.id for v in made]

    # Delete, after which the video is gone.
    gone = client.videos.delete(first.id)
    assert (gone.id, gone.deleted, gone.object) == (first.id, True, "video.deleted")
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(first.id)
    # Every video is in the team's API project, the same gallery the web UI shows.
    assert Clip.objects.filter(project__name="API").count() == len(made) - 1


def test_sdk_errors(strict_studio_url, alice_key, bob_key):
    alice = _client(strict_studio_url, alice_key)
    bob = _client(strict_studio_url, bob_key)

    with pytest.raises(openai.AuthenticationError) as exc:
        _client(strict_studio_url, "sk-studio-not-a-key").videos.list()
    assert exc.value.code == "invalid_api_key"

    bobs = bob.videos.create(prompt="bob's secret", model="animatic", seconds="0.5", size="64x64")
    with pytest.raises(openai.NotFoundError):
        alice.videos.retrieve(bobs.id)
    with pytest.raises(openai.NotFoundError):
        alice.videos.download_content(bobs.id)
    with pytest.raises(openai.NotFoundError):
        alice.videos.remix(bobs.id, prompt="mine now")
    assert bobs.id not in [v.id for v in alice.videos.list()]

    with pytest.raises(openai.BadRequestError) as exc:
        alice.videos.create(prompt="x", model="animatic", size="100x50")
    assert exc.value.param == "size" and "multiple of 8" in exc.value.message

    with pytest.raises(openai.BadRequestError) as exc:
        alice.videos.create(prompt="x", model="sora-2")
    assert exc.value.param == "model" and "animatic" in exc.value.message

    with pytest.raises(openai.NotFoundError) as exc:
        alice.videos.edit(video=openai.omit, extra_body={"video": {"id": bobs.id}}, prompt="hi")
    assert exc.value.code == "video_not_found"

    with pytest.raises(openai.RateLimitError) as exc:
        for _ in range(50):
            alice.models.list()
    assert 1 <= int(exc.value.response.headers["retry-after"]) <= 60
