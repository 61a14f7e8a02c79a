"""The prompt builder: live assembly and hints, examples, variants, presets and the controls
each engine has, remembered settings, and "use these settings" from a clip."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from generation.presets import EXAMPLES
from generation.prompting import CAMERA_MOTIONS, STYLE_PRESETS, assemble_prompt
from studio.jobs.jobs import run_generation
from studio.jobs.models import Clip, Generation
from studio.prompts.forms import builder_data
from studio.prompts.services import prompt_submit
from tests.conftest import png_bytes
from tests.studio.test_prompt_form import post

pytestmark = pytest.mark.django_db

API_LIKE = {"engine": "animatic", "aspect_ratio": "1:1", "resolution": 64, "duration_s": 0.5,
            "fps": 8}  # fmt: skip


def preview(client, project, **params):
    return client.get(reverse("prompt-preview", args=[project.pk]), params)


def selected(html, name):
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.search(r'<option value="([^"]*)"[^>]*selected', select).group(1)


def test_preview_assembles_the_parts_and_gives_hints(alice_client, alice_project):
    response = preview(
        alice_client,
        alice_project,
        subject="a red fox",
        action="trots slowly",
        environment="through fresh snow",
        builder_source="subject",
        text="",
        camera_motion="static",
        engine="animatic",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-assembled="A red fox trots slowly through fresh snow."' in html
    assert 'aria-live="polite"' in html
    assert 'data-rule="camera"' in html  # static and no camera words
    assert 'data-rule="movement"' not in html


def test_preview_shows_what_the_engine_reads_and_what_the_style_adds(
    alice_client, alice_project, tiny_wan_settings
):
    html = preview(
        alice_client,
        alice_project,
        text="A close-up of a woman's face smiling",
        camera_motion="orbit",
        style_preset="noir",
        engine="wan",
        builder_source="text",
    ).content.decode()
    assert CAMERA_MOTIONS["orbit"].phrase[1:] in html
    assert STYLE_PRESETS["noir"].negative in html
    assert 'data-rule="faces"' in html and 'data-rule="camera"' not in html


def test_preview_counts_against_the_engine_limit(alice_client, alice_project):
    html = preview(alice_client, alice_project, text="x" * 5000, engine="animatic").content.decode()
    assert "5000 / 2000 characters" in html and "counter small over" in html
    assert "Cut 3000 characters" in html


def test_builder_endpoints_are_for_editors_of_the_project(client, alice_project, bob):
    client.force_login(bob)
    assert preview(client, alice_project, text="x").status_code == 404
    assert client.get(reverse("prompt-form", args=[alice_project.pk])).status_code == 404


def test_example_is_one_click_away(alice_client, alice_project):
    example = EXAMPLES["tokyo_street"]
    url = reverse("prompt-form", args=[alice_project.pk]) + "?example=tokyo_street"
    html = alice_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<form id="prompt-form"')
    assert assemble_prompt(example.anatomy) in html
    assert selected(html, "camera_motion") == "tracking"
    assert selected(html, "style_preset") == "cinematic"
    # And without JavaScript, the same example through the page's link.
    page = alice_client.get(
        reverse("project-detail", args=[alice_project.pk]), {"example": "dark_forest"}
    )
    assert "lantern" in page.content.decode()


def test_parts_alone_make_the_prompt_and_are_kept(alice_client, alice_project, redis_conn):
    response = post(
        alice_client, alice_project, text="", subject="a paper boat", action="drifts slowly",
        environment="down a rain gutter",
    )  # fmt: skip
    assert 'class="error"' not in response.content.decode()
    g = Generation.objects.get()
    assert g.prompt.text == "A paper boat drifts slowly down a rain gutter."
    assert g.prompt.anatomy == {
        "subject": "a paper boat", "action": "drifts slowly", "environment": "down a rain gutter",
    }  # fmt: skip


def test_variants_have_different_seeds_and_arrive_side_by_side(
    alice_client, alice_project, redis_conn
):
    response = post(alice_client, alice_project, variants="3", seed="40")
    html = response.content.decode()
    gens = list(Generation.objects.order_by("recipe__seed"))
    assert [g.recipe["seed"] for g in gens] == [40, 41, 42]
    assert 'class="variants variants-3"' in html
    assert "BuilderPreview" not in html  # the builder's context never leaks into job cards
    assert all(f'id="generation-{g.pk}"' in html for g in gens)
    assert len({g.prompt_id for g in gens}) == 3


def _jobs(html: str) -> str:
    return html[
        html.index('id="jobs"') : html.index('<div class="gallery-head">', html.index('id="jobs"'))
    ]


def test_variants_stay_side_by_side_after_a_reload(
    alice, alice_client, alice_project, redis_conn, django_capture_on_commit_callbacks
):
    import django_rq

    with django_capture_on_commit_callbacks(execute=True):
        response = post(alice_client, alice_project, variants="3", seed="40")
    assert 'class="error"' not in response.content.decode()
    first, second, third = Generation.objects.order_by("recipe__seed")
    # The first variant finishes (its job run here); the other two still wait.
    django_rq.get_queue("default").empty()
    run_generation(str(first.pk))
    first.refresh_from_db()
    assert first.status == "succeeded"
    post(alice_client, alice_project, text="a single shot", variants="1")
    prompt_submit(project=alice_project, user=alice, data={**API_LIKE, "text": "from the API"})

    jobs = _jobs(
        alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    )
    groups = re.findall(r'<div class="variants variants-(\d)"', jobs)
    assert groups == ["1", "3"]  # The single submit is newest; the API's run has no group.
    three = jobs[jobs.index('class="variants variants-3"') :]
    order = [three.index(f'id="generation-{g.pk}"') for g in (first, second, third)]
    assert order == sorted(order)  # In the order they were made, as they arrived live.
    assert f'id="clip-{first.clip.pk}"' in three  # The finished variant shows its clip.
    api_card = Generation.objects.get(prompt__text="from the API")
    assert jobs.index(f'id="generation-{api_card.pk}"') < jobs.index('class="variants')


def test_random_variants_get_distinct_seeds(alice_client, alice_project, redis_conn):
    post(alice_client, alice_project, variants="4")
    assert len({g.recipe["seed"] for g in Generation.objects.all()}) == 4


def test_form_remembers_the_last_settings_in_the_project(alice_client, alice_project, redis_conn):
    post(alice_client, alice_project, camera_motion="pan_left", aspect_ratio="9:16", seed="7")
    html = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    assert selected(html, "camera_motion") == "pan_left"
    assert selected(html, "aspect_ratio") == "9:16"
    assert 'name="seed" value="7"' not in html  # a new submit gets a new seed


def test_camera_speed_moves_the_animatic(alice_client, alice_project, redis_conn):
    post(alice_client, alice_project, camera_speed="fast")
    assert Generation.objects.get().recipe["options"] == {"camera_speed": 2.0}


def test_guidance_goes_to_engines_that_have_it(
    alice_client, alice_project, redis_conn, tiny_wan_settings
):
    post(alice_client, alice_project, engine="wan", guidance="7.5", resolution="32",
         duration_s="0.5", fps="16")  # fmt: skip
    assert Generation.objects.get().recipe["guidance"] == 7.5
    post(alice_client, alice_project, engine="animatic", guidance="7.5")
    assert Generation.objects.get(engine="animatic").recipe["guidance"] is None
    html = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    assert 'id="field-guidance"' in html


def test_motion_amount_is_svds_motion_bucket(
    settings, tiny_svd_dir, alice_client, alice_project, redis_conn
):
    settings.STUDIO_ENGINE_CONFIGS = {"animatic": {}, "svd": {"model": str(tiny_svd_dir)}}
    image = SimpleUploadedFile("in.png", png_bytes(96, 96), content_type="image/png")
    response = post(alice_client, alice_project, engine="svd", motion_amount="200", image=image,
                    resolution="64", fps="7", duration_s="0.5", style_preset="")  # fmt: skip
    assert 'class="error"' not in response.content.decode(), response.content.decode()
    assert Generation.objects.get().recipe["options"]["motion_bucket_id"] == 200
    # The builder's script shows the field, with the engine's default, for SVD only.
    engines = builder_data()["engines"]
    assert (engines["svd"]["motion_amount"], engines["animatic"]["motion_amount"]) == (127, None)


def test_form_bounds_come_from_the_engine(alice_client, alice_project, tiny_wan_settings):
    from studio.jobs.engines import engine_info

    caps = engine_info("wan").capabilities
    html = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    resolution = re.search(r'<input[^>]*name="resolution"[^>]*>', html).group(0)
    assert f'max="{caps.max_size}"' in resolution and f'min="{caps.min_size}"' in resolution
    fps = re.search(r'<input[^>]*name="fps"[^>]*>', html).group(0)
    assert f'max="{caps.max_fps}"' in fps
    assert 'id="builder-data"' in html
    text = re.search(r'<textarea[^>]*name="text"[^>]*>', html).group(0)
    assert "maxlength" not in text  # the limit is an error naming it, never a silent cut


def test_use_these_settings_fills_the_form_from_a_clip(
    alice, alice_client, alice_project, run_worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(alice_client, alice_project, text="a kite over the dunes", camera_motion="crane_up",
             aspect_ratio="1:1", resolution="64", seed="1234")  # fmt: skip
    run_worker()
    clip = Clip.objects.get()
    post(alice_client, alice_project, text="something else", camera_motion="static")
    url = reverse("prompt-form", args=[alice_project.pk]) + f"?from_clip={clip.pk}"
    html = alice_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "a kite over the dunes" in html
    assert selected(html, "camera_motion") == "crane_up"
    assert 'name="seed" value="1234"' in html


@pytest.mark.parametrize(
    "params",
    [
        {"camera_motion": "barrel_roll", "text": "a fox"},
        {"camera_speed": "warp", "engine": "nope", "text": "a fox runs"},
        {"style_preset": "vaporwave", "subject": "x" * 600, "builder_source": "subject"},
        {},
    ],
)
def test_preview_never_500s(alice_client, alice_project, params):
    response = preview(alice_client, alice_project, **params)
    assert response.status_code == 200
    assert 'id="builder-preview"' in response.content.decode()


def test_remix_keeps_the_creative_controls(
    alice_client, alice_project, run_worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(alice_client, alice_project, camera_motion="pan_left", camera_speed="fast",
             resolution="128")  # fmt: skip
    run_worker()
    clip = Clip.objects.get()
    alice_client.post(reverse("clip-remix", args=[clip.pk]), {"text": "the same, in snow"})
    remix = Generation.objects.get(source_clip=clip)
    assert remix.recipe["options"] == {"camera_speed": 2.0}
    assert remix.prompt.camera_speed == "fast"
