"""Storyboards: templates, shot CRUD and reorder through the views, generate all with the
animatic on a real Redis and worker, continuity, picking takes, and access."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from studio.jobs.models import Generation
from studio.storyboards import services
from studio.storyboards.models import Shot, Storyboard, Take
from tests.conftest import png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(alice, alice_project):
    board = services.storyboard_create(
        project=alice_project, user=alice, name="Night walk", engine="animatic"
    )
    board.resolution, board.fps = 112, 8
    board.save()
    for text in ("A fox at the edge of the wood", "The fox runs", "The moon over the hill"):
        services.shot_add(storyboard=board, data={"description": text, "duration_s": 0.5})
    return board


def order(board):
    return list(board.shots.values_list("description", flat=True))


def test_dark_forest_template(alice, alice_project):
    board = services.storyboard_create(
        project=alice_project, user=alice, name="", engine="animatic", template="dark_forest"
    )
    shots = list(board.shots.all())
    assert len(shots) == 5 and board.title_text == "The Dark Forest"
    assert "forest" in shots[0].description and shots[0].camera_motion == "drone"
    assert [s.position for s in shots] == [0, 1, 2, 3, 4]
    assert shots[3].continue_previous and shots[1].transition == "crossfade"


def test_product_pack_from_the_form(alice_client, alice_project):
    url = reverse("storyboard-list", args=[alice_project.pk])
    missing = alice_client.post(url, {"template": "product", "engine": "animatic"})
    assert missing.status_code == 400
    assert "Name the product" in missing.content.decode()
    image = SimpleUploadedFile("rocket.png", png_bytes(), content_type="image/png")
    response = alice_client.post(
        url,
        {
            "template": "product",
            "engine": "animatic",
            "product_name": "Acme Rocket",
            "product_image": image,
        },
    )
    assert response.status_code == 302
    board = Storyboard.objects.get(project=alice_project)
    shots = list(board.shots.all())
    assert len(shots) == 5  # hero, three features, call to action
    assert shots[0].image.name.startswith("storyboards/") and "Acme Rocket" in shots[0].description
    assert not any(s.image for s in shots[1:])
    assert shots[-1].on_screen_text == "Acme Rocket: shop now"
    assert (board.aspect_ratio, board.export_format) == ("9:16", "vertical")
    served = alice_client.get(reverse("shot-image", args=[shots[0].pk]))
    assert served.status_code == 200 and b"".join(served.streaming_content)[:4] == b"\x89PNG"


def test_add_edit_duplicate_delete_shots_through_the_views(alice_client, board):
    add = reverse("shot-add", args=[board.pk])
    bad = alice_client.post(
        add,
        {
            "duration_s": 1,
            "camera_motion": "static",
            "transition": "cut",
            "transition_s": 0.5,
            "trim_in": 0,
        },
    )
    assert bad.status_code == 400
    assert "Describe the shot or give it an image." in bad.content.decode()
    ok = alice_client.post(
        add,
        {
            "description": "Dawn",
            "duration_s": 1,
            "camera_motion": "zoom_in",
            "transition": "crossfade",
            "transition_s": 0.25,
            "trim_in": 0,
        },
    )
    assert ok.status_code == 302
    dawn = board.shots.get(description="Dawn")
    assert dawn.position == 3 and dawn.transition == "crossfade"

    edit = reverse("shot-edit", args=[dawn.pk])
    assert alice_client.get(edit).status_code == 200
    wrong = alice_client.post(
        edit,
        {
            "description": "Dawn",
            "duration_s": 1,
            "camera_motion": "static",
            "transition": "cut",
            "transition_s": 0.5,
            "trim_in": 1,
            "trim_out": 0.5,
        },
    )
    assert (
        wrong.status_code == 400 and "Trim out must come after trim in." in wrong.content.decode()
    )
    alice_client.post(
        edit,
        {
            "description": "Dawn breaks",
            "duration_s": 2,
            "camera_motion": "static",
            "transition": "cut",
            "transition_s": 0.5,
            "trim_in": 0.5,
            "on_screen_text": "Day one",
        },
    )
    dawn.refresh_from_db()
    assert (dawn.description, dawn.duration_s, dawn.trim_in, dawn.on_screen_text) == (
        "Dawn breaks",
        2,
        0.5,
        "Day one",
    )

    first = board.shots.first()
    response = alice_client.post(reverse("shot-duplicate", args=[first.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="shots"' in response.content.decode()
    assert order(board)[:2] == ["A fox at the edge of the wood"] * 2
    assert list(board.shots.values_list("position", flat=True)) == [0, 1, 2, 3, 4]

    alice_client.post(reverse("shot-delete", args=[first.pk]))
    assert order(board) == [
        "A fox at the edge of the wood",
        "The fox runs",
        "The moon over the hill",
        "Dawn breaks",
    ]
    assert list(board.shots.values_list("position", flat=True)) == [0, 1, 2, 3]


def test_reorder_by_drop_and_by_buttons(alice_client, board):
    ids = list(board.shots.values_list("pk", flat=True))
    url = reverse("storyboard-reorder", args=[board.pk])
    response = alice_client.post(url, {"order": [ids[2], ids[0], ids[1]]}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert order(board) == [
        "The moon over the hill",
        "A fox at the edge of the wood",
        "The fox runs",
    ]
    html = response.content.decode()
    assert html.index(f'id="shot-{ids[2]}"') < html.index(f'id="shot-{ids[0]}"')

    assert alice_client.post(url, {"order": [ids[0], ids[1]]}).status_code == 400
    assert alice_client.post(url, {"order": ["x"]}).status_code == 400

    move = reverse("shot-move", args=[ids[1]])
    alice_client.post(move, {"direction": "up"})
    assert order(board) == [
        "The moon over the hill",
        "The fox runs",
        "A fox at the edge of the wood",
    ]
    alice_client.post(reverse("shot-move", args=[ids[2]]), {"direction": "down"})
    assert order(board) == [
        "The fox runs",
        "The moon over the hill",
        "A fox at the edge of the wood",
    ]
    assert alice_client.post(move, {"direction": "sideways"}).status_code == 400


def test_generate_all_with_the_animatic(
    alice, alice_client, board, run_worker, django_capture_on_commit_callbacks
):
    last = board.shots.last()
    last.continue_previous = True
    last.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            reverse("storyboard-generate", args=[board.pk]), HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 200
    assert 'role="alert"' not in response.content.decode(), response.content.decode()
    # Two shots queued; the third waits for the second's take to continue from it.
    assert Take.objects.filter(shot__storyboard=board).count() == 2
    last.refresh_from_db()
    assert last.waiting_for_previous
    assert "Waiting for the previous shot" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    takes = Take.objects.filter(shot__storyboard=board).select_related("generation", "shot")
    assert takes.count() == 3
    for take in takes:
        assert take.generation.status == "succeeded", take.generation.error
        assert take.generation.clip.width == 112 and take.generation.project == board.project
    continued = Take.objects.get(shot=last).generation
    assert continued.mode == "image_to_video" and continued.recipe["image_path"]
    assert continued.recipe["seed"] == board.seed  # The shared seed policy.
    last.refresh_from_db()
    assert not last.waiting_for_previous

    # The board shows each take with the job card partial (live progress swaps it by id).
    page = alice_client.get(reverse("storyboard-detail", args=[board.pk])).content.decode()
    for take in takes:
        assert f'id="generation-{take.generation.pk}"' in page

    # Regenerate one shot: only that shot gets a new take; then pick the first take.
    shot = board.shots.first()
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("shot-generate", args=[shot.pk]))
    run_worker()
    assert shot.takes.count() == 2 and Take.objects.filter(shot__storyboard=board).count() == 4
    newest, oldest = list(shot.takes.all())
    assert services.used_take(shot) == newest.generation
    alice_client.post(reverse("take-choose", args=[oldest.pk]))
    shot.refresh_from_db()
    assert shot.chosen == oldest.generation and services.used_take(shot) == oldest.generation
    # The chosen take's clip deleted from the gallery: the edit falls back to the newest.
    oldest.generation.clip.delete()
    shot.refresh_from_db()
    assert services.used_take(shot) == newest.generation
    newest.generation.clip.delete()
    response = alice_client.post(reverse("storyboard-export", args=[board.pk]))
    assert response.status_code == 400
    assert "Shot 1 has no finished take" in response.content.decode()


def test_continuation_needs_an_image_engine(alice, board, monkeypatch):
    shot = board.shots.last()
    shot.continue_previous = True
    shot.save()
    monkeypatch.setattr(services, "_engine_takes_images", lambda engine_id: False)
    _, errors = services.storyboard_generate_all(storyboard=board, user=alice)
    assert "cannot start from an image" in errors[shot.pk]


def test_choosing_an_unfinished_take_is_refused(alice, alice_client, board, redis_conn):
    shot = board.shots.first()
    generation = services.shot_generate(shot=shot, user=alice)
    take = Take.objects.get(generation=generation)
    response = alice_client.post(reverse("take-choose", args=[take.pk]), HTTP_HX_REQUEST="true")
    assert "Only a finished take can be used" in response.content.decode()
    shot.refresh_from_db()
    assert shot.chosen is None


def test_other_teams_see_nothing(bob, client, board, alice, redis_conn):
    shot = board.shots.first()
    generation = services.shot_generate(shot=shot, user=alice)
    take = Take.objects.get(generation=generation)
    client.force_login(bob)
    urls = [
        ("get", reverse("storyboard-list", args=[board.project.pk])),
        ("post", reverse("storyboard-list", args=[board.project.pk])),
        ("get", reverse("storyboard-detail", args=[board.pk])),
        ("post", reverse("storyboard-detail", args=[board.pk])),
        ("post", reverse("storyboard-delete", args=[board.pk])),
        ("post", reverse("shot-add", args=[board.pk])),
        ("post", reverse("storyboard-reorder", args=[board.pk])),
        ("post", reverse("storyboard-generate", args=[board.pk])),
        ("post", reverse("storyboard-export", args=[board.pk])),
        ("get", reverse("shot-edit", args=[shot.pk])),
        ("get", reverse("shot-image", args=[shot.pk])),
        ("post", reverse("shot-delete", args=[shot.pk])),
        ("post", reverse("shot-duplicate", args=[shot.pk])),
        ("post", reverse("shot-move", args=[shot.pk])),
        ("post", reverse("shot-generate", args=[shot.pk])),
        ("post", reverse("take-choose", args=[take.pk])),
    ]
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 404, url
    # Every storyboard URL is listed above, and anonymous users are sent to log in.
    from studio.storyboards.urls import urlpatterns

    covered = {url for _, url in urls}
    ids = {
        "projects": board.project.pk,
        "storyboards": board.pk,
        "shots": shot.pk,
        "takes": take.pk,
    }
    for pattern in urlpatterns:
        pk = ids[str(pattern.pattern).split("/")[0]]
        assert reverse(pattern.name, args=[pk]) in covered, pattern.name
    client.logout()
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    assert Shot.objects.filter(storyboard=board).count() == 3
    assert Generation.objects.count() == 1


def test_project_page_links_to_storyboards(alice_client, alice_project):
    page = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    assert reverse("storyboard-list", args=[alice_project.pk]) in page


def wav_upload(name="tone.wav", seconds=0.6):
    import io
    import wave

    import numpy as np

    rate = 22050
    samples = (np.sin(np.arange(int(rate * seconds)) * 0.1) * 6000).astype(np.int16)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return SimpleUploadedFile(name, buf.getvalue(), content_type="audio/wav")


def test_export_is_a_job_that_lands_in_the_gallery(
    alice, alice_client, board, run_worker, django_capture_on_commit_callbacks
):
    import av

    from studio.jobs.models import Clip

    url = reverse("storyboard-export", args=[board.pk])
    refused = alice_client.post(url)
    assert refused.status_code == 400
    assert "Shot 1 has no finished take; generate it first." in refused.content.decode()

    first, second, third = board.shots.all()
    second.transition, second.transition_s = "crossfade", 0.25
    second.save()
    third.trim_in, third.trim_out, third.on_screen_text = 0.125, 0.5, "Acme"
    third.save()
    board.export_format, board.export_fps, board.export_fit = "square", 24, "crop"
    board.title_text = "Night walk"
    board.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.storyboard_generate_all(storyboard=board, user=alice)
    run_worker()

    bad = alice_client.post(url, {"soundtrack": SimpleUploadedFile("song.txt", b"la la")})
    assert bad.status_code == 400 and "not a supported soundtrack" in bad.content.decode()
    junk = alice_client.post(url, {"soundtrack": SimpleUploadedFile("song.mp3", b"\x00" * 64)})
    assert junk.status_code == 400 and "not an audio file we can read" in junk.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(url, {"soundtrack": wav_upload()})
    assert response.status_code == 302
    export = Generation.objects.get(mode="edit")
    run_worker()
    export.refresh_from_db()
    assert export.status == "succeeded", export.error
    clip = Clip.objects.get(generation=export)
    takes = [services.used_take(s).clip for s in board.shots.all()]
    assert export.recipe["clip_ids"] == [c.pk for c in takes]
    ids = ", ".join(str(c.pk) for c in takes)
    assert f"Edit of 3 shots: clips {ids}." in export.notes
    assert clip.parent_clip == takes[0] and clip.project == board.project
    with av.open(clip.file.path) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        assert (stream.width, stream.height, stream.average_rate) == (1080, 1080, 24)
        assert container.streams.audio and container.streams.audio[0].codec_context.name == "aac"
    # Title 2 s + 0.5 + 0.5 + (0.5 - 0.125), minus the 0.25 s crossfade.
    assert abs(frames / 24 - (2 + 0.5 + 0.5 + 0.375 - 0.25)) <= 1 / 24
    page = alice_client.get(reverse("storyboard-detail", args=[board.pk])).content.decode()
    assert f'id="generation-{export.pk}"' in page
    assert alice_client.get(reverse("clip-detail", args=[clip.pk])).status_code == 200


def test_generate_all_with_a_tiny_wan(
    alice, alice_project, tiny_wan_settings, run_worker, django_capture_on_commit_callbacks
):
    board = services.storyboard_create(
        project=alice_project, user=alice, name="Waves", engine="wan"
    )
    board.resolution, board.fps, board.aspect_ratio, board.style_preset = 32, 8, "1:1", "noir"
    board.save()
    for text in ("waves on rocks", "a gull over the waves"):
        services.shot_add(storyboard=board, data={"description": text, "duration_s": 0.625})
    with django_capture_on_commit_callbacks(execute=True):
        queued, errors = services.storyboard_generate_all(storyboard=board, user=alice)
    assert errors == {} and len(queued) == 2
    run_worker()
    recipes = []
    for generation in queued:
        generation.refresh_from_db()
        assert generation.status == "succeeded", generation.error
        assert (generation.clip.width, generation.clip.num_frames) == (32, 5)
        recipes.append(generation.recipe)
    # Shared look and seed: the board's style reaches every shot's prompt.
    assert recipes[0]["seed"] == recipes[1]["seed"] == board.seed
    assert all(r["style"] == "noir" and "noir" in r["prompt"].lower() for r in recipes)


def test_a_finished_take_row_refreshes_without_a_reload(
    alice, alice_client, board, run_worker, django_capture_on_commit_callbacks
):
    """storyboard.js refetches the shot list when a live card's status differs from its row's."""
    from studio.jobs.live import render_card

    shot = board.shots.first()
    with django_capture_on_commit_callbacks(execute=True):
        generation = services.shot_generate(shot=shot, user=alice)
    url = reverse("storyboard-detail", args=[board.pk])
    page = alice_client.get(url).content.decode()
    assert f'data-refresh-url="{url}"' in page
    assert 'data-take-status="queued"' in page and "Use this take" not in page

    run_worker()
    generation.refresh_from_db()
    assert generation.status == "succeeded", generation.error
    # The worker's push carries the new status the row is compared against...
    assert 'data-status="succeeded"' in render_card(generation, oob=True)
    # ...and the htmx refetch is the shot list alone, now with the take's actions.
    fragment = alice_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<ol id="shots"')
    assert "Export the film" not in fragment
    assert 'data-take-status="succeeded"' in fragment
    assert "Used in the edit" in fragment  # The only take is the one the edit uses.
    services.shot_generate(shot=shot, user=alice)
    fragment = alice_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    # A second take, still queued: its row has no button until its card says succeeded.
    assert 'data-take-status="queued"' in fragment and "Use this take" not in fragment


def test_a_resumed_take_stays_a_take_of_its_shot(alice, alice_client, board, redis_conn):
    """A failed chained take's Resume (the chain itself: test_long_video) adds a new take."""
    from studio.jobs.models import Generation

    shot = board.shots.first()
    failed = services.shot_generate(shot=shot, user=alice)
    Generation.objects.filter(pk=failed.pk).update(
        recipe={**failed.recipe, "options": {"total_frames": 60}},
        status="failed",
        error="the GPU fell over",
    )
    failed.refresh_from_db()
    page = alice_client.get(reverse("storyboard-detail", args=[board.pk])).content.decode()
    assert reverse("generation-resume", args=[failed.pk]) in page
    response = alice_client.post(
        reverse("generation-resume", args=[failed.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200, response.content
    newest, oldest = list(shot.takes.all())
    assert oldest.generation == failed and newest.generation.recipe == failed.recipe
    assert newest.generation.status == "queued"
