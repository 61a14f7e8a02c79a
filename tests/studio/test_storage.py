"""Media goes through Django's storage API: local disk or an S3 bucket is one setting apart.

The S3 runs use moto's real S3 server (started by the `s3_server` fixture), so every
byte below crosses HTTP to a bucket.
"""

import importlib
import io

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core import serializers
from django.urls import reverse

from studio.jobs.models import Clip, Generation, Prompt
from studio.jobs.services import generation_delete
from tests.conftest import png_bytes

pytestmark = pytest.mark.django_db

PROMPT = {
    "text": "a lighthouse at dusk",
    "negative_text": "",
    "camera_motion": "zoom_in",
    "style_preset": "",
    "aspect_ratio": "1:1",
    "resolution": "64",
    "duration_s": "0.5",
    "fps": "8",
    "seed": "7",
    "steps": "",
    "engine": "animatic",
}


@pytest.fixture
def made(alice_client, alice_project, run_worker, django_capture_on_commit_callbacks):
    """Generate an image-to-video clip through the page, with an uploaded input image."""

    def make() -> Clip:
        image = io.BytesIO(png_bytes(96, 96))
        image.name = "still.png"
        with django_capture_on_commit_callbacks(execute=True):
            response = alice_client.post(
                reverse("generate", args=[alice_project.pk]), {**PROMPT, "image": image}
            )
        assert response.status_code == 302
        run_worker()
        generation = Generation.objects.get(prompt__text=PROMPT["text"])
        assert generation.status == "succeeded", generation.error
        return Clip.objects.get(generation=generation)

    return make


def test_generate_download_and_delete_on_each_storage(
    media_storage, made, alice_client, django_capture_on_commit_callbacks
):
    clip = made()
    image = clip.generation.recipe["image_path"]
    names = clip.file_names
    assert [n.rsplit(".", 1)[1] for n in names] == ["mp4", "jpg", "jpg"]
    assert all(media_storage.exists(n) for n in [*names, image])
    with media_storage.open(clip.file.name) as fh:
        stored = fh.read()

    download = alice_client.get(reverse("clip-download", args=[clip.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == stored
    assert download["Content-Disposition"].startswith("attachment")
    seek = alice_client.get(reverse("clip-video", args=[clip.pk]), HTTP_RANGE="bytes=100-199")
    assert seek.status_code == 206 and b"".join(seek.streaming_content) == stored[100:200]

    with django_capture_on_commit_callbacks(execute=True):
        generation_delete(generation=clip.generation)
    assert not any(media_storage.exists(n) for n in [*names, image])


def test_s3_objects_are_the_clip_and_nothing_else(s3_server, s3_storage, made):
    clip = made()
    keys = s3_server.keys(s3_storage.location + "/")
    assert sorted(keys) == sorted(
        f"{s3_storage.location}/{n}"
        for n in [*clip.file_names, clip.generation.recipe["image_path"]]
    )


def test_no_absolute_path_is_stored(
    made, settings, alice_client, run_worker, django_capture_on_commit_callbacks
):
    clip = made()
    form = {"mode": "interpolate", "engine": "", "scale": "2", "upscale_model": "general",
            "prompt": "", "seconds": "1", "strength": "0.6"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("clip-derive", args=[clip.pk]), form)
    assert response.status_code == 302
    run_worker()
    assert Generation.objects.filter(mode="interpolate", status="succeeded").exists()
    dump = serializers.serialize(
        "json", [*Generation.objects.all(), *Clip.objects.all(), *Prompt.objects.all()]
    )
    media_root = str(settings.MEDIA_ROOT)
    assert media_root not in dump
    for g in Generation.objects.all():
        for name in g.input_names:
            assert not name.startswith("/"), name


def test_deleting_a_clip_in_the_admin_removes_its_files(
    made, client, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    clip = made()
    names = clip.file_names
    User.objects.create_superuser("root", "root@example.com", "root-pass-123")
    client.login(username="root", password="root-pass-123")
    url = reverse("admin:jobs_clip_delete", args=[clip.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"post": "yes"})
    assert response.status_code == 302 and not Clip.objects.exists()
    assert not any(default_storage.exists(n) for n in names)


def test_deleting_a_project_removes_every_file_it_had(
    made, alice_project, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    clip = made()
    names = [*clip.file_names, clip.generation.recipe["image_path"]]
    with django_capture_on_commit_callbacks(execute=True):
        alice_project.delete()
    assert not any(default_storage.exists(n) for n in names)


def test_migration_turns_media_paths_into_storage_names(settings, alice, alice_project):
    migration = importlib.import_module("studio.jobs.migrations.0005_storage_names")
    inside = f"{settings.MEDIA_ROOT}/inputs/2026/11/a.png"
    g = Generation.objects.create(
        project=alice_project,
        requested_by=alice,
        engine="animatic",
        mode="image_to_video",
        recipe={"image_path": inside, "video_path": "/elsewhere/b.mp4", "seed": 1},
    )
    migration.to_names(apps, None)
    g.refresh_from_db()
    assert g.recipe["image_path"] == "inputs/2026/11/a.png"
    assert g.recipe["video_path"] == "missing/b.mp4", "no absolute path stays, even outside media"


def test_two_requests_drawing_a_spritesheet_keep_one_and_lose_nothing(media_storage, made):
    from studio.jobs.services import clip_spritesheet

    clip = made()
    media_storage.delete(clip.spritesheet.name)
    Clip.objects.filter(pk=clip.pk).update(spritesheet="")  # made before sheets existed
    first, late = Clip.objects.get(pk=clip.pk), Clip.objects.get(pk=clip.pk)
    recorded = clip_spritesheet(clip=first)
    # `late` read the row before `first` recorded its sheet: it draws one of its own,
    # finds the row taken, and deletes only what it drew.
    assert clip_spritesheet(clip=late) == recorded
    assert media_storage.exists(recorded)
    clip.refresh_from_db()
    assert clip.spritesheet.name == recorded
    sheets = [n for n in media_storage.listdir(f"clips/{clip.project_id}")[1] if "sprites" in n]
    assert sheets == [recorded.rsplit("/", 1)[1]], "the late request's sheet is removed"


def test_deleting_a_clip_from_its_page_removes_its_files(
    made, alice_client, bob, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    from studio.teams.services import member_add

    clip = made()
    names = clip.file_names
    url = reverse("clip-delete", args=[clip.pk])
    page = alice_client.get(reverse("clip-detail", args=[clip.pk])).content.decode()
    assert f'action="{url}"' in page and "hx-confirm" in page

    member_add(team=clip.project.team, user=bob, role="viewer")
    alice_client.force_login(bob)
    assert alice_client.post(url).status_code == 403, "viewers cannot delete"
    assert Clip.objects.filter(pk=clip.pk).exists()

    alice_client.force_login(clip.project.team.memberships.get(role="owner").user)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(url, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("project-detail", args=[clip.project_id])
    assert not Clip.objects.exists()
    assert not any(default_storage.exists(n) for n in names)


def test_a_clip_other_jobs_still_read_is_kept_with_the_reason(made, alice_client):
    clip = made()
    derived = Generation.objects.create(
        project=clip.project,
        engine="enhance",
        mode="interpolate",
        recipe={"video_path": clip.file.name},
        source_clip=clip,
    )
    response = alice_client.post(reverse("clip-delete", args=[clip.pk]))
    assert response.status_code == 400
    assert "still being made from this video" in response.content.decode()
    assert Clip.objects.filter(pk=clip.pk).exists() and derived.status == "queued"
