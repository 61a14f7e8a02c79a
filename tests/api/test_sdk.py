"""The official `openai` SDK, unmodified, against a real studio: daphne, an rqworker, Redis.

Engines: the animatic, and the tiny offline Wan and LTX pipelines loaded from disk by the
worker process, so every call below runs a real pipeline end to end. One studio serves
the module (starting it costs more than most tests); each test is one feature.
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


@pytest.fixture(scope="module")
def studio_url(django_db_setup, tmp_path_factory, tiny_wan_dir, tiny_ltx_dir):
    import django_rq

    django_rq.get_connection("default").flushdb()  # No jobs left over from earlier tests.
    env = {
        "STUDIO_ENGINES": "animatic,wan,ltx",
        "STUDIO_WAN_MODEL": str(tiny_wan_dir),
        "STUDIO_LTX_MODEL": str(tiny_ltx_dir),
        # Polling every 100 ms would trip the default 60/min limit.
        "STUDIO_API_RATE_LIMIT": "0",
    }
    with running_studio(tmp_path_factory.mktemp("studio"), env) as url:
        yield url


@pytest.fixture
def client(studio_url, alice_key) -> openai.OpenAI:
    return _client(studio_url, alice_key)


def _client(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=60)


def _frames(data: bytes) -> tuple[int, int, int]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        return stream.width, stream.height, count


def _animatic(client: openai.OpenAI, prompt: str = "a lighthouse at dusk", **kwargs):
    video = client.videos.create_and_poll(
        prompt=prompt, model="animatic", seconds="1", size="96x64", **POLL, **kwargs
    )
    assert video.status == "completed", video.error
    return video


def _wan(client: openai.OpenAI):
    wan = client.videos.create_and_poll(
        prompt="waves on rocks", model="wan", seconds="0.5", size="32x32", extra_body=TINY, **POLL
    )
    assert wan.status == "completed", wan.error
    return wan


def test_text_to_video_and_every_download_variant(client):
    first = _animatic(client)
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


def test_image_to_video_with_an_uploaded_reference(client):
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


def test_wan_with_studio_extras(client):
    wan = _wan(client)
    assert _frames(client.videos.download_content(wan.id).content) == (32, 32, 9)
    assert Generation.objects.get(pk=wan.id.removeprefix("video_")).recipe["seed"] == 7


def test_remix_keeps_recipe_and_seed_and_records_lineage(client):
    wan = _wan(client)
    remix = client.videos.poll(client.videos.remix(wan.id, prompt="waves at night").id, **POLL)
    assert remix.status == "completed", remix.error
    assert remix.remixed_from_video_id == wan.id and remix.prompt == "waves at night"
    remix_row = Generation.objects.get(pk=remix.id.removeprefix("video_"))
    assert remix_row.recipe["seed"] == 7
    assert Clip.objects.get(generation=remix_row).parent_clip.generation_id.hex == wan.id[6:]


def test_edit_restyles_with_wan_chosen_automatically(client):
    wan = _wan(client)
    # SDK 3.54 refuses a `video={"id": ...}` reference client-side (it expects a file
    # there), so the reference goes in extra_body, as the README shows.
    edit = client.videos.edit(
        video=openai.omit, extra_body={"video": {"id": wan.id}}, prompt="as a watercolor painting"
    )
    edit = client.videos.poll(edit.id, **POLL)
    assert edit.status == "completed", edit.error
    assert edit.remixed_from_video_id == wan.id
    assert _frames(client.videos.download_content(edit.id).content)[:2] == (32, 32)


def test_extend_an_uploaded_clip_of_ours_with_ltx(client):
    ltx = client.videos.create_and_poll(
        prompt="a boat", model="ltx", seconds="0.375", size="32x32", extra_body=TINY, **POLL
    )
    assert ltx.status == "completed", ltx.error
    # Uploading the downloaded MP4 works too; being our own file, byte for byte, the
    # extension still records the clip it came from. The result is the stitched total.
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


def test_a_long_video_chains_ltx_passes_to_the_requested_length(client):
    # 12 s at 24 fps is 288 frames; LTX makes at most 257 in one pass, so this chains.
    long = client.videos.create(
        prompt="a river through a canyon", model="ltx", seconds="12", size="32x32", extra_body=TINY
    )
    assert long.seconds == "12"
    long = client.videos.poll(long.id, **POLL)
    assert long.status == "completed", long.error
    assert long.progress == 100
    width, height, count = _frames(client.videos.download_content(long.id).content)
    assert (width, height, count) == (32, 32, 288)
    generation = Generation.objects.get(pk=long.id.removeprefix("video_"))
    assert generation.recipe["options"]["total_frames"] == 288
    assert any("chained segments" in note for note in generation.notes)
    too_long = client.videos.create
    with pytest.raises(openai.BadRequestError, match="between 0.05 and 120"):
        too_long(prompt="a river", model="ltx", seconds="121", size="32x32", extra_body=TINY)


def test_list_pages_newest_first_and_delete(client):
    made = [_animatic(client, f"shot {n}") for n in range(4)]
    page = client.videos.list(limit=2)
    assert len(page.data) == 2 and page.has_more
    listed = [v.id for v in client.videos.list(limit=2)]
    assert listed == [v.id for v in reversed(made)]
    assert [v.id for v in client.videos.list(limit=3, order="asc")] == [v.id for v in made]

    gone = client.videos.delete(made[0].id)
    assert (gone.id, gone.deleted, gone.object) == (made[0].id, True, "video.deleted")
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(made[0].id)
    # Every video is in the team's API project, the same gallery the web UI shows.
    assert Clip.objects.filter(project__name="API").count() == len(made) - 1
