"""Clips beget clips: interpolate, upscale, extend and restyle, with lineage recorded."""

import pytest
from django.urls import reverse

from generation.spec import GenerationRequest
from generation.video import probe
from studio.jobs.models import Clip, Generation
from studio.jobs.services import generation_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_clip(alice, alice_project, run_worker, django_capture_on_commit_callbacks):
    def make(width=64, height=64, frames=5, fps=8):
        request = GenerationRequest(
            prompt="a kite over dunes", width=width, height=height, num_frames=frames, fps=fps,
            seed=3, camera_motion="pan_left",
        )  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            g = generation_submit(
                project=alice_project, user=alice, engine_id="animatic", request=request
            )
        run_worker()
        return Clip.objects.get(generation=g)

    return make


def derive(client, clip, capture, **data):
    form = {"mode": "interpolate", "engine": "", "scale": "2", "upscale_model": "fast",
            "target_fps": "", "target_size": "", "prompt": "", "seconds": "1", "strength": "0.6",
            **data}  # fmt: skip
    with capture(execute=True):
        return client.post(reverse("clip-derive", args=[clip.pk]), form)


def test_interpolate_doubles_frames_and_fps(
    alice_client, make_clip, run_worker, django_capture_on_commit_callbacks
):
    source = make_clip()
    response = derive(alice_client, source, django_capture_on_commit_callbacks, scale="2")
    assert response.status_code == 302
    run_worker()
    g = Generation.objects.get(source_clip=source)
    assert g.status == "succeeded", g.error
    child = g.clip
    assert child.parent_clip == source
    info = probe(child.file.path)
    assert (info.num_frames, info.fps, info.width) == (9, 16, 64)
    page = alice_client.get(reverse("clip-detail", args=[source.pk])).content.decode()
    assert f'id="clip-{child.pk}"' in page  # listed under "Made from this clip"


def test_interpolation_uses_the_rife_weights_setting(
    settings, tmp_path, alice_client, make_clip, run_worker, django_capture_on_commit_callbacks
):
    assert settings.STUDIO_ENGINE_CONFIGS["enhance"]["rife_weights"] == str(
        settings.STUDIO_RIFE_WEIGHTS
    )
    missing = tmp_path / "flownet.pkl"
    settings.STUDIO_ENGINE_CONFIGS = {"animatic": {}, "enhance": {"rife_weights": str(missing)}}
    source = make_clip()
    derive(alice_client, source, django_capture_on_commit_callbacks, scale="2")
    run_worker()
    g = Generation.objects.get(source_clip=source)
    assert g.status == "succeeded", g.error
    assert f"RIFE weights not found at {missing}; used optical flow (DIS)." in g.notes


@pytest.mark.parametrize(
    ("model", "weights"),
    [("fast", "realesr-animevideov3-x2"), ("anime", "realesrgan-x4plus-anime")],
)
def test_upscale_with_a_chosen_model(
    alice_client, make_clip, run_worker, django_capture_on_commit_callbacks, model, weights
):
    source = make_clip(width=64, height=64, frames=2)
    derive(
        alice_client, source, django_capture_on_commit_callbacks,
        mode="upscale", scale="2", upscale_model=model,
    )  # fmt: skip
    run_worker()
    g = Generation.objects.get(source_clip=source)
    assert g.status == "succeeded", g.error
    assert (g.clip.width, g.clip.height, g.clip.num_frames) == (128, 128, 2)
    assert g.recipe["options"] == {"upscale_model": model}
    assert any(f"Real-ESRGAN ({weights}" in note for note in g.notes), g.notes


def test_enhance_to_target_fps_and_size_in_one_job(
    alice_client, make_clip, run_worker, django_capture_on_commit_callbacks
):
    source = make_clip(width=96, height=64, frames=5, fps=8)
    response = derive(
        alice_client, source, django_capture_on_commit_callbacks,
        mode="enhance", target_fps="24", target_size="240",
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()
    run_worker()
    g = Generation.objects.get(source_clip=source)
    assert g.status == "succeeded", g.error
    assert g.mode == "enhance" and g.clip.parent_clip == source
    info = probe(g.clip.file.path)
    assert (info.width, info.height, info.fps, info.num_frames) == (240, 160, 24, (5 - 1) * 3 + 1)
    assert (g.recipe["width"], g.recipe["height"], g.recipe["fps"]) == (240, 160, 24)
    assert "96×64 at 8 fps → 240×160 at 24 fps: interpolated ×3 and upscaled ×3, then fitted." in (
        g.notes
    )
    assert g.total_steps == 4 + 13  # 4 pairs to interpolate, then 13 frames of one tile each


def test_extend_forward_with_tiny_ltx(
    settings, tiny_ltx_dir, alice_client, make_clip, run_worker, django_capture_on_commit_callbacks
):
    settings.STUDIO_ENGINE_CONFIGS = {
        "animatic": {}, "enhance": {}, "ltx": {"model": str(tiny_ltx_dir)},
    }  # fmt: skip
    source = make_clip(width=64, height=64, frames=9, fps=8)
    response = derive(
        alice_client, source, django_capture_on_commit_callbacks,
        mode="extend_forward", seconds="1", prompt="the kite climbs",
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()
    run_worker()
    g = Generation.objects.get(source_clip=source)
    assert g.status == "succeeded", g.error
    assert g.engine == "ltx" and g.recipe["prompt"] == "the kite climbs"
    assert g.clip.num_frames == 9 + 9 and g.clip.parent_clip == source


def test_restyle_with_tiny_wan(
    settings, tiny_wan_dir, alice_client, make_clip, run_worker, django_capture_on_commit_callbacks
):
    settings.STUDIO_ENGINE_CONFIGS = {"animatic": {}, "wan": {"model": str(tiny_wan_dir)}}
    source = make_clip(width=64, height=64, frames=9, fps=16)
    derive(
        alice_client, source, django_capture_on_commit_callbacks,
        mode="video_to_video", prompt="as a watercolor", strength="0.5",
    )  # fmt: skip
    run_worker()
    g = Generation.objects.get(source_clip=source)
    assert g.status == "succeeded", g.error
    assert (g.clip.num_frames, g.clip.width) == (9, 64)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"mode": "enhance", "target_fps": "20"}, "target_fps", "From 8 fps, interpolation reaches 16, 24 or 32"),
        ({"mode": "enhance", "target_size": "300"}, "target_size", "it can be 64–256 px"),
        ({"mode": "enhance", "target_size": "-5"}, "target_size", "greater than or equal to 1"),
        ({"mode": "enhance"}, "target_fps", "the clip is already there"),
        ({"mode": "extend_forward"}, "mode", "valid choice"),  # no engine here extends
        ({"mode": "interpolate", "engine": "animatic"}, "engine", "valid choice"),
    ],
)  # fmt: skip
def test_bad_derive_requests_are_form_errors(
    alice_client, make_clip, django_capture_on_commit_callbacks, data, field, message
):
    source = make_clip()
    response = derive(alice_client, source, django_capture_on_commit_callbacks, **data)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    # The message sits under its own field, not at the top of the form.
    error_at = page.index(message)
    assert page.rindex('<div class="field', 0, error_at) == page.index(
        f'<div class="field has-error" id="field-{field}"'
    )
    assert not Generation.objects.filter(source_clip=source).exists()


def test_other_team_cannot_derive(client, bob, make_clip):
    source = make_clip()
    client.force_login(bob)
    response = client.post(reverse("clip-derive", args=[source.pk]), {"mode": "interpolate"})
    assert response.status_code == 404


def test_remix_from_the_clip_page(
    alice_client, make_clip, run_worker, django_capture_on_commit_callbacks
):
    source = make_clip()
    page = alice_client.get(reverse("clip-detail", args=[source.pk])).content.decode()
    assert 'id="remix"' in page and "seed (3) with a new prompt" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            reverse("clip-remix", args=[source.pk]), {"text": "a kite over snow"}
        )
    assert response.status_code == 302
    run_worker()
    remix = Clip.objects.exclude(pk=source.pk).get()
    g = remix.generation
    assert remix.parent_clip == source and g.prompt.text == "a kite over snow"
    assert (g.recipe["seed"], g.recipe["camera_motion"], g.recipe["num_frames"]) == (
        3,
        "pan_left",
        5,
    )
    assert g.recipe["prompt"] != source.generation.recipe["prompt"]


def test_remix_needs_a_prompt_and_an_editor(alice_client, client, bob, make_clip):
    source = make_clip()
    response = alice_client.post(reverse("clip-remix", args=[source.pk]), {"text": ""})
    assert response.status_code == 400 and "Write the new prompt." in response.content.decode()
    client.force_login(bob)
    assert client.post(reverse("clip-remix", args=[source.pk]), {"text": "x"}).status_code == 404
    assert Clip.objects.count() == 1


def test_make_more_offers_only_what_fits_the_clip(alice_client, make_clip):
    source = make_clip(width=1280, height=720, frames=2)
    html = alice_client.get(reverse("clip-detail", args=[source.pk])).content.decode()
    # Each field says which actions it belongs to, so the page shows only those.
    assert 'data-modes="interpolate upscale"' in html  # the factor
    assert 'data-modes="video_to_video"' in html  # restyle strength
    assert 'data-modes=""' not in html  # the action itself always shows
    # 1280 px ×4 would pass the enhance engine's 3840 px long side.
    assert "&quot;upscale&quot;: [2, 3]" in html and "&quot;interpolate&quot;: [2, 3, 4]" in html
    assert "with Fast" in html and "with Lanczos" in html and "within one tile" in html
    # Without LTX, Wan or CogVideoX, the page says which engine extends and restyles.
    assert "Extend forward needs LTX-Video" in html and "Wan or CogVideoX" in html


def test_an_invalid_factor_is_refused_naming_the_valid_ones(
    alice_client, make_clip, django_capture_on_commit_callbacks
):
    source = make_clip(width=1280, height=720, frames=2)
    response = derive(
        alice_client, source, django_capture_on_commit_callbacks, mode="upscale", scale="4"
    )
    assert response.status_code == 200
    assert "offers ×2, ×3." in response.content.decode()
    assert not Generation.objects.filter(source_clip=source).exists()


def test_lanczos_is_a_choice_before_starting(
    alice_client, make_clip, django_capture_on_commit_callbacks
):
    source = make_clip()
    derive(alice_client, source, django_capture_on_commit_callbacks, mode="upscale",
           scale="2", upscaler="lanczos")  # fmt: skip
    g = Generation.objects.get(source_clip=source)
    assert g.recipe["options"] == {"upscale_model": "fast", "upscaler": "lanczos"}
