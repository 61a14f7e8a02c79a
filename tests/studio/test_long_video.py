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


def test_a_failed_long_video_resumes_from_the_ui(
    alice, alice_client, alice_project, run_worker, django_capture_on_commit_callbacks, monkeypatch
):
    """A chain (the animatic continues from last frames) fails in its second segment; Resume
    runs the same recipe again, and the new run reuses the saved first segment."""
    from django.urls import reverse

    from generation.engines.animatic import AnimaticEngine
    from generation.spec import GenerationRequest
    from studio.jobs.models import Generation
    from studio.jobs.services import generation_resume, generation_submit

    request = GenerationRequest(
        prompt="a slow pan across a harbour", width=64, height=64, num_frames=9, fps=8, seed=7
    ).replace(options={"total_frames": 30})
    real = AnimaticEngine.generate
    calls = []

    def fail_the_second_segment(self, request, progress):
        calls.append(request.mode)
        if len(calls) == 2:
            raise GenerationError("the GPU fell over")
        return real(self, request, progress)

    monkeypatch.setattr(AnimaticEngine, "generate", fail_the_second_segment)
    with django_capture_on_commit_callbacks(execute=True):
        failed = generation_submit(
            project=alice_project, user=alice, engine_id="animatic", request=request
        )
    run_worker()
    failed.refresh_from_db()
    assert failed.status == "failed" and "fell over" in failed.error
    assert failed.resumable_segments == 1
    card = alice_client.get(
        reverse("generation-detail", args=[failed.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert reverse("generation-resume", args=[failed.pk]) in card
    assert "1 segment already done" in card

    monkeypatch.setattr(AnimaticEngine, "generate", real)
    calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            reverse("generation-resume", args=[failed.pk]), HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 200
    resumed = Generation.objects.exclude(pk=failed.pk).get(project=alice_project)
    assert f'id="generation-{resumed.pk}"' in response.content.decode()
    assert resumed.recipe == failed.recipe and resumed.recipe["seed"] == 7
    assert "after 1 finished segment(s)" in resumed.notes[0]
    run_worker()
    resumed.refresh_from_db()
    assert resumed.status == "succeeded", resumed.error
    assert resumed.clip.num_frames == 30
    assert any("Resumed after 1 finished segment" in note for note in resumed.notes)
    assert resumed.resumable_segments is None

    # Only failed long videos resume: a finished one, or a single-pass run, is refused.
    with pytest.raises(GenerationError, match="Only a failed job"):
        generation_resume(generation=resumed, user=alice)
    single = generation_submit(
        project=alice_project,
        user=alice,
        engine_id="animatic",
        request=request.replace(options={}),
    )
    response = alice_client.post(reverse("generation-resume", args=[single.pk]))
    assert response.status_code == 400 and b"Only a long video" in response.content
