"""Two minutes from one prompt: the animatic renders it in one pass; the recipe says when
an engine chains passes instead."""

import pytest

from generation.spec import GenerationError
from studio.jobs.models import Clip, Prompt
from studio.jobs.recipes import build_request
from studio.prompts.services import prompt_submit

pytestmark = pytest.mark.django_db


def intent(**fields):
    values = dict(
        engine="animatic",
        text="a slow pan across a harbour",
        camera_motion="pan_left",
        aspect_ratio="16:9",
        resolution=128,
        duration_s=120,
        fps=8,
    )
    return Prompt(**{**values, **fields})


def test_the_animatic_renders_two_minutes_in_one_pass(
    alice, alice_project, run_worker, django_capture_on_commit_callbacks
):
    request, notes = build_request(intent(), image_path=None)
    assert request.num_frames == 960 and not request.options and notes == []
    data = {
        f: getattr(intent(), f)
        for f in (
            "engine",
            "text",
            "camera_motion",
            "aspect_ratio",
            "resolution",
            "duration_s",
            "fps",
        )
    }
    with django_capture_on_commit_callbacks(execute=True):
        generation = prompt_submit(project=alice_project, user=alice, data=data)
    run_worker()
    generation.refresh_from_db()
    assert generation.status == "succeeded", generation.error
    clip = Clip.objects.get(generation=generation)
    assert clip.num_frames == 960 and clip.duration_s == 120


def test_the_animatic_says_when_a_clip_does_not_fit_in_memory():
    from generation.engines.animatic import AnimaticEngine
    from generation.spec import GenerationRequest, NullProgress

    request = GenerationRequest(
        prompt="a harbour", width=1920, height=1080, num_frames=7200, fps=60
    )
    with pytest.raises(GenerationError, match="smaller size or a lower frame rate"):
        AnimaticEngine().generate(request, NullProgress())


def test_a_rerun_of_the_same_recipe_finds_the_saved_segments(alice, alice_project):
    from studio.jobs.jobs import _long_workdir
    from studio.jobs.models import Generation

    def run(seed):
        recipe = {"prompt": "a canyon", "seed": seed, "options": {"total_frames": 288}}
        return Generation(project=alice_project, engine="ltx", mode="text_to_video", recipe=recipe)

    assert _long_workdir(run(1)) == _long_workdir(run(1))
    assert _long_workdir(run(1)) != _long_workdir(run(2))
