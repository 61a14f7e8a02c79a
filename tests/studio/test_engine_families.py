"""Every engine family works through the same form, queue and worker as the animatic."""

import av
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from studio.jobs.models import Clip, Generation
from tests.conftest import png_bytes

pytestmark = pytest.mark.django_db

BASE = {
    "text": "a lighthouse at dusk",
    "negative_text": "",
    "camera_motion": "static",
    "style_preset": "",
    "aspect_ratio": "1:1",
    "resolution": "32",
    "duration_s": "0.5",
    "fps": "16",
    "seed": "5",
    "steps": "2",
}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("family", "fixture", "overrides", "frames", "size"),
    [
        ("wan", "tiny_wan_dir", {}, 9, 32),
        ("ltx", "tiny_ltx_dir", {}, 9, 32),
        ("cogvideox", "tiny_cogvideox_dir", {"fps": "8", "duration_s": "1"}, 9, 32),
        ("svd", "tiny_svd_dir", {"resolution": "64", "fps": "7", "duration_s": "0.5"}, 4, 64),
    ],
)
def test_family_through_the_form(
    request, settings, alice_client, alice_project, run_worker, django_capture_on_commit_callbacks,
    family, fixture, overrides, frames, size,
):  # fmt: skip
    settings.STUDIO_ENGINE_CONFIGS = {
        "animatic": {},
        family: {"model": str(request.getfixturevalue(fixture))},
    }
    data = {**BASE, **overrides, "engine": family}
    if family == "svd":
        data["image"] = SimpleUploadedFile("in.png", png_bytes(96, 96), content_type="image/png")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            reverse("generate", args=[alice_project.pk]), data, HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 200
    assert 'class="error"' not in response.content.decode(), response.content.decode()
    run_worker()
    g = Generation.objects.get()
    assert g.status == "succeeded", g.error
    with av.open(Clip.objects.get(generation=g).file.path) as container:
        stream = container.streams.video[0]
        decoded = sum(1 for _ in container.decode(stream))
        assert (stream.width, stream.height, decoded) == (size, size, frames)


def test_engine_without_the_mode_says_which_it_has(
    settings, tiny_svd_dir, alice_client, alice_project
):
    settings.STUDIO_ENGINE_CONFIGS = {"animatic": {}, "svd": {"model": str(tiny_svd_dir)}}
    data = {**BASE, "engine": "svd", "resolution": "64", "fps": "7"}
    response = alice_client.post(
        reverse("generate", args=[alice_project.pk]), data, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "does not support text_to_video" in html and "image_to_video" in html
    assert Generation.objects.count() == 0
