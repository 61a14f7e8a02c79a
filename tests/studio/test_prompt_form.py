"""Bad input never creates a job and never 500s: the form names the field at fault."""

import io

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from studio.jobs.models import Generation
from tests.conftest import png_bytes

VALID = {
    "text": "A lighthouse on a cliff at dusk",
    "negative_text": "",
    "camera_motion": "dolly_in",
    "style_preset": "cinematic",
    "aspect_ratio": "16:9",
    "resolution": "256",
    "duration_s": "1",
    "fps": "12",
    "seed": "",
    "steps": "",
    "engine": "animatic",
    "camera_speed": "normal",
    "variants": "1",
}


def post(client, project, htmx=True, **overrides):
    data = {**VALID, **overrides}
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse("generate", args=[project.pk]), data, **headers)


def field_errors(response, field):
    html = response.content.decode()
    start = html.find(f'id="field-{field}"')
    assert start != -1, f"field {field} not rendered"
    return html[start : html.find("</div>", start)]


@pytest.mark.django_db
def test_valid_prompt_creates_one_queued_generation_with_a_recorded_seed(
    alice_client, alice_project, redis_conn, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(alice_client, alice_project)
    assert response.status_code == 200
    g = Generation.objects.get()
    assert g.status == "queued"
    assert isinstance(g.recipe["seed"], int)
    assert g.prompt.seed == g.recipe["seed"]
    assert g.recipe["width"] == 256 and g.recipe["height"] == 144
    assert g.recipe["num_frames"] == 12 and g.recipe["camera_motion"] == "dolly_in"
    html = response.content.decode()
    assert f'id="generation-{g.pk}"' in html and 'hx-swap-oob="afterbegin:#jobs"' in html
    # The job reached the real queue, under the generation's id.
    assert str(g.pk) in redis_conn.lrange("rq:queue:default", 0, -1)[0].decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"text": ""}, "text", "Write a prompt"),
        ({"text": "x" * 2001}, "text", "2000"),
        ({"duration_s": "121"}, "duration_s", "clips up to 120 s"),
        ({"duration_s": "-1"}, "duration_s", "clips up to 120 s"),
        ({"duration_s": "600"}, "duration_s", "clips up to 120 s"),
        ({"fps": "500"}, "fps", "makes 4–60 fps"),
        ({"fps": "2"}, "fps", "makes 4–60 fps"),
        ({"camera_motion": "barrel_roll"}, "camera_motion", "valid choice"),
        ({"aspect_ratio": "7:3"}, "aspect_ratio", "valid choice"),
        ({"resolution": "4096"}, "resolution", "64–1920 px"),
        ({"resolution": "8"}, "resolution", "64–1920 px"),
        (
            {"text": "x" * 5000},
            "text",
            "5000 characters; Animatic (camera previs) takes at most 2000",
        ),
        ({"negative_text": "y" * 2500}, "negative_text", "at most 2000"),
        ({"variants": "5"}, "variants", "less than or equal to 4"),
        (
            {"platform": "tiktok", "duration_s": "20"},
            "duration_s",
            "TikTok takes videos up to 15 s",
        ),
        ({"camera_speed": "warp"}, "camera_speed", "valid choice"),
        ({"engine": "sora"}, "engine", "valid choice"),
    ],
)
@pytest.mark.django_db
def test_bad_input_is_an_inline_error_and_no_job(
    alice_client, alice_project, overrides, field, message
):
    response = post(alice_client, alice_project, **overrides)
    assert response.status_code == 200
    assert message in field_errors(response, field)
    assert Generation.objects.count() == 0
    # The user's text survives the round trip.
    assert (overrides.get("text") or VALID["text"])[:50] in response.content.decode()


def _upload(name, content, content_type="image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: _upload("notes.png", b"this is not an image"), "not an image"),
        (lambda: _upload("cut.png", png_bytes(256, 256)[:200]), "corrupt"),
        (lambda: _upload("bomb.png", _big_png(8000, 6000)), "megapixels"),
    ],
)
@pytest.mark.django_db
def test_bad_images_are_rejected(alice_client, alice_project, make, message):
    response = post(alice_client, alice_project, image=make())
    assert message in field_errors(response, "image")
    assert Generation.objects.count() == 0


def _big_png(width, height) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (width, height)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


@pytest.mark.django_db
def test_image_upload_makes_an_image_to_video_job(alice_client, alice_project, redis_conn):
    response = post(alice_client, alice_project, image=_upload("in.png", png_bytes(320, 200)))
    assert response.status_code == 200
    g = Generation.objects.get()
    assert g.mode == "image_to_video"
    name = g.recipe["image_path"]
    assert name.startswith("inputs/"), "the recipe holds a storage name, not a path"
    with default_storage.open(name) as fh, Image.open(fh) as img:
        assert img.size == (320, 200)


def test_after_an_image_job_the_form_says_to_choose_the_image_again(
    alice_client, alice_project, redis_conn
):
    with_image = post(alice_client, alice_project, image=_upload("in.png", png_bytes(64, 64)))
    assert 'id="image-reuse"' in with_image.content.decode()
    assert 'id="image-reuse"' not in post(alice_client, alice_project).content.decode()


@pytest.mark.django_db
def test_wan_frame_rule_is_applied_and_explained(
    alice_client, alice_project, redis_conn, tiny_wan_settings
):
    post(alice_client, alice_project, engine="wan", duration_s="2", fps="16", resolution="128")
    g = Generation.objects.get()
    assert g.recipe["num_frames"] == 33
    assert any("4k+1" in note and "33 frames" in note for note in g.notes)


@pytest.mark.django_db
def test_viewer_cannot_generate(client, alice_project, bob):
    from studio.teams.services import member_add

    member_add(team=alice_project.team, user=bob, role="viewer")
    client.force_login(bob)
    assert client.get(reverse("project-detail", args=[alice_project.pk])).status_code == 200
    assert post(client, alice_project).status_code == 403
    assert Generation.objects.count() == 0


def test_png_helper_is_an_image():
    with Image.open(io.BytesIO(png_bytes(10, 8))) as img:
        assert img.size == (10, 8)
        assert np.asarray(img)[0, 0].tolist() == [200, 80, 40]


@pytest.mark.parametrize(
    "overrides",
    [
        {"duration_s": "nan"},
        {"duration_s": "inf"},
        {"fps": "1e309"},
        {"seed": "-1"},
        {"seed": "99999999999999999999999"},
        {"resolution": "abc"},
        {"steps": "0"},
        {"engine": ""},
        {"text": "\x00"},
    ],
)
@pytest.mark.django_db
def test_garbage_never_500s(alice_client, alice_project, overrides):
    response = post(alice_client, alice_project, **overrides)
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    assert Generation.objects.count() == 0
