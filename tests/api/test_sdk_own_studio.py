"""The official `openai` SDK against studios of their own: a strict rate limit, S3 storage.

Kept apart from test_sdk.py, whose module-wide studio has a worker on the same queue.
"""

import uuid

import openai
import pytest

from tests.api.test_sdk import _animatic, _client, _frames
from tests.conftest import png_bytes
from tests.live import running_studio

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def strict_studio_url(redis_conn, tmp_path):
    env = {"STUDIO_ENGINES": "animatic", "STUDIO_API_RATE_LIMIT": "25"}
    with running_studio(tmp_path, env) as url:
        yield url


def test_a_studio_on_s3_storage(s3_server, redis_conn, alice_key, tmp_path):
    """The whole path on an S3 bucket: upload, generate, download, delete, nothing left."""
    location = f"sdk-{uuid.uuid4().hex[:8]}"
    with running_studio(
        tmp_path, {"STUDIO_ENGINES": "animatic", **s3_server.environ(location)}
    ) as url:
        client = _client(url, alice_key)
        video = _animatic(client, input_reference=("still.png", png_bytes(120, 80), "image/png"))
        assert _frames(client.videos.download_content(video.id).content) == (96, 64, 24)
        keys = s3_server.keys(location + "/")
        assert sum(k.endswith(".mp4") for k in keys) == 1 and len(keys) == 4, keys
        client.videos.delete(video.id)
        assert s3_server.keys(location + "/") == []


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
