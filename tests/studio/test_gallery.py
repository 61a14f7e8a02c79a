"""Managing the gallery: favourites, renames, filters and sort, bulk zip, dismissing cards,
a frame as the next input image, and the A/B view."""

import io
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from studio.gallery.services import clip_filter, generation_dismiss
from studio.jobs.models import Clip, Generation
from studio.prompts.services import prompt_submit
from studio.teams.services import member_add

pytestmark = pytest.mark.django_db

BASE = {
    "engine": "animatic",
    "aspect_ratio": "1:1",
    "resolution": 128,
    "duration_s": 0.25,
    "fps": 8,
}


@pytest.fixture
def clips(alice, alice_project, run_worker, django_capture_on_commit_callbacks):
    """Three finished clips: a fox panning left, a 9:16 owl zooming, a 1:1 static boat."""
    specs = [
        {"text": "a red fox in the snow", "camera_motion": "pan_left"},
        {"text": "an owl at night", "camera_motion": "zoom_in", "aspect_ratio": "9:16"},
        {"text": "a paper boat", "camera_motion": "static", "duration_s": 0.5},
    ]
    with django_capture_on_commit_callbacks(execute=True):
        for spec in specs:
            prompt_submit(project=alice_project, user=alice, data={**BASE, **spec})
    run_worker()
    return list(Clip.objects.order_by("pk"))


def texts(qs):
    return [c.generation.prompt.text for c in qs]


def test_clip_filter_by_each_field(alice_project, clips, bob):
    fox, owl, boat = clips
    qs = Clip.objects.filter(project=alice_project)
    assert texts(clip_filter(qs, {"q": "OWL"})) == ["an owl at night"]
    assert texts(clip_filter(qs, {"camera": "pan_left"})) == ["a red fox in the snow"]
    assert texts(clip_filter(qs, {"aspect": "9:16"})) == ["an owl at night"]
    assert clip_filter(qs, {"engine": "animatic"}).count() == 3
    assert clip_filter(qs, {"engine": "wan"}).count() == 0
    assert clip_filter(qs, {"mode": "text_to_video"}).count() == 3
    assert clip_filter(qs, {"author": "alice"}).count() == 3
    assert clip_filter(qs, {"author": "bob"}).count() == 0
    Clip.objects.filter(pk=owl.pk).update(favourite=True, title="Night watch")
    assert texts(clip_filter(qs, {"favourite": "1"})) == ["an owl at night"]
    assert texts(clip_filter(qs, {"q": "watch"})) == ["an owl at night"]
    Clip.objects.filter(pk=boat.pk).update(parent_clip=fox)
    assert texts(clip_filter(qs, {"derived": "derived"})) == ["a paper boat"]
    assert clip_filter(qs, {"derived": "original"}).count() == 2


def test_clip_filter_sorts_and_ignores_unknown_values(alice_project, clips):
    fox, owl, boat = clips
    qs = Clip.objects.filter(project=alice_project)
    assert [c.pk for c in clip_filter(qs, {})] == [boat.pk, owl.pk, fox.pk]
    assert [c.pk for c in clip_filter(qs, {"sort": "oldest"})] == [fox.pk, owl.pk, boat.pk]
    # Only orders the keyset pages can walk on the index; anything else is newest first.
    assert [c.pk for c in clip_filter(qs, {"sort": "longest"})] == [boat.pk, owl.pk, fox.pk]
    assert clip_filter(qs, {"sort": "sideways", "derived": "maybe"}).count() == 3


def test_gallery_filters_through_the_page(alice_client, alice_project, clips):
    url = reverse("project-detail", args=[alice_project.pk])
    html = alice_client.get(
        url, {"gallery": "1", "q": "fox"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert html.lstrip().startswith('<div id="gallery">')
    assert "a red fox" in html and "an owl" not in html
    empty = alice_client.get(url, {"gallery": "1", "q": "zebra"}, HTTP_HX_REQUEST="true")
    assert "No clips match these filters." in empty.content.decode()
    page = alice_client.get(url).content.decode()
    assert 'id="gallery-filters"' in page and "Finished clips land here" not in page


def test_favourite_toggles_and_only_editors_may(client, alice_client, alice_project, clips, bob):
    fox = clips[0]
    url = reverse("clip-favourite", args=[fox.pk])
    response = alice_client.post(url, {"favourite": "1"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert f'id="star-{fox.pk}"' in html and 'aria-pressed="true"' in html
    fox.refresh_from_db()
    assert fox.favourite
    alice_client.post(url, {"favourite": "0"})
    fox.refresh_from_db()
    assert not fox.favourite
    member_add(team=alice_project.team, user=bob, role="viewer")
    client.force_login(bob)
    assert client.post(url, {"favourite": "1"}).status_code == 403
    fox.refresh_from_db()
    assert not fox.favourite


def test_rename_clip_and_project(alice_client, alice_project, clips):
    fox = clips[0]
    response = alice_client.post(
        reverse("clip-rename", args=[fox.pk]), {"title": "  The   fox  "}, HTTP_HX_REQUEST="true"
    )
    assert "The fox" in response.content.decode()
    fox.refresh_from_db()
    assert fox.title == "The fox"
    page = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    assert "The fox" in page
    bad = alice_client.post(reverse("project-rename", args=[alice_project.pk]), {"name": " "})
    assert bad.status_code == 400 and "Name the project." in bad.content.decode()
    alice_client.post(reverse("project-rename", args=[alice_project.pk]), {"name": "Launch"})
    alice_project.refresh_from_db()
    assert alice_project.name == "Launch"


def test_bulk_download_streams_a_zip_of_the_selection(alice_client, alice_project, clips, bob):
    fox, owl, _ = clips
    url = reverse("clips-zip", args=[alice_project.pk])
    response = alice_client.get(url, {"clip": [fox.pk, owl.pk, 99999]})
    assert response.status_code == 200 and response.streaming
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert len(names) == 2 and all(n.endswith(".mp4") for n in names)
        assert archive.read(names[0]) == fox.file.read()
    assert alice_client.get(url).status_code == 400  # nothing selected: say so


def test_failed_and_cancelled_cards_can_be_dismissed(
    alice, alice_client, alice_project, redis_conn
):
    g = prompt_submit(project=alice_project, user=alice, data={**BASE, "text": "a kite"})
    url = reverse("generation-dismiss", args=[g.pk])
    assert alice_client.post(url).status_code == 400  # still queued
    Generation.objects.filter(pk=g.pk).update(
        status="failed", error="Out of memory.", finished_at=timezone.now()
    )
    page = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    assert "Out of memory." in page and url in page
    assert alice_client.post(url, HTTP_HX_REQUEST="true").content == b""
    page = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    assert "Out of memory." not in page
    assert Generation.objects.filter(pk=g.pk, dismissed=True).exists()
    with pytest.raises(Exception, match="Only failed or cancelled"):
        generation_dismiss(generation=prompt_submit(project=alice_project, user=alice,
                                                    data={**BASE, "text": "b"}))  # fmt: skip


def test_a_frame_of_a_clip_is_the_next_input_image(alice_client, alice_project, clips):
    from PIL import Image

    from tests.studio.test_prompt_form import post

    owl = clips[1]
    form_page = alice_client.get(
        reverse("project-detail", args=[alice_project.pk]), {"image_clip": owl.pk, "frame": "last"}
    ).content.decode()
    assert f'name="image_clip" value="{owl.pk}"' in form_page
    response = post(alice_client, alice_project, image_clip=str(owl.pk), image_frame="last")
    assert 'class="error"' not in response.content.decode()
    g = Generation.objects.filter(clip__isnull=True).get()
    assert g.mode == "image_to_video"
    with g.prompt.image.open() as fh, Image.open(fh) as img:
        assert img.size == (owl.width, owl.height)


def test_frame_of_another_projects_clip_is_refused(alice, alice_client, alice_project, clips):
    from studio.projects.services import project_create
    from tests.studio.test_prompt_form import post

    other = project_create(team=alice_project.team, name="Other", user=alice)
    response = post(alice_client, other, image_clip=str(clips[0].pk))
    assert "not in this project" in response.content.decode()


def test_compare_page_shows_both_clips(alice_client, clips):
    fox, _, boat = clips
    Clip.objects.filter(pk=boat.pk).update(parent_clip=fox)
    html = alice_client.get(reverse("clip-compare", args=[boat.pk])).content.decode()
    assert reverse("clip-video", args=[fox.pk]) in html
    assert reverse("clip-video", args=[boat.pk]) in html and "data-compare-split" in html
    assert 'style="' not in html  # the CSP allows no inline styles
    lone = alice_client.get(reverse("clip-compare", args=[fox.pk])).content.decode()
    assert "Nothing to compare" in lone


def test_recipes_show_human_labels_and_no_zero_minutes(alice_client, clips):
    html = alice_client.get(reverse("clip-detail", args=[clips[0].pk])).content.decode()
    assert "Pan left" in html and "pan_left" not in html.replace('value="pan_left"', "")
    assert "Text to video" in html and "just now" in html
    assert "0 minutes ago" not in html and "0\xa0minutes ago" not in html


def _mp4(tmp_path, frames=5, size=(64, 48), fps=8) -> bytes:
    import numpy as np

    from generation.video import encode_mp4

    path = tmp_path / "mine.mp4"
    rng = np.random.default_rng(0)
    encode_mp4(rng.integers(0, 255, (frames, size[1], size[0], 3), dtype=np.uint8), fps, path)
    return path.read_bytes()


FOOTAGE = {"mode": "interpolate", "engine": "", "scale": "2", "upscale_model": "fast",
           "upscaler": "auto", "seconds": "1", "strength": "0.6"}  # fmt: skip


def test_own_footage_is_transformed_through_the_uploads_path(
    alice_client, alice_project, redis_conn, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    video = SimpleUploadedFile("mine.mp4", _mp4(tmp_path), content_type="video/mp4")
    response = alice_client.post(
        reverse("project-footage", args=[alice_project.pk]), {**FOOTAGE, "video": video}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    g = Generation.objects.get()
    assert g.mode == "interpolate" and g.source_clip is None
    assert g.recipe["video_path"].startswith(f"inputs/uploads/{alice_project.pk}/")
    assert (g.recipe["width"], g.recipe["height"], g.recipe["num_frames"]) == (64, 48, 5)
    page = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    assert 'id="footage"' in page and 'id="footage_video"' in page


def test_footage_that_is_not_a_video_is_a_form_error(alice_client, alice_project, settings):
    from pathlib import Path

    from django.core.files.uploadedfile import SimpleUploadedFile

    junk = SimpleUploadedFile("notes.mp4", b"not a video at all", content_type="video/mp4")
    response = alice_client.post(
        reverse("project-footage", args=[alice_project.pk]), {**FOOTAGE, "video": junk}
    )
    assert response.status_code == 400
    assert "notes.mp4 is not a readable video" in response.content.decode()
    assert not Generation.objects.exists()
    uploads = Path(settings.MEDIA_ROOT) / "inputs" / "uploads"
    assert not uploads.exists() or not any(uploads.rglob("*.mp4"))


def test_gallery_cards_scrub_through_the_spritesheet(alice_client, alice_project, clips):
    fox = clips[0]
    page = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    url = reverse("clip-sprites", args=[fox.pk])
    assert f'data-sprites="{url}" data-frames="{fox.num_frames}"' in page
    response = alice_client.get(url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body[:3] == b"\xff\xd8\xff"  # a JPEG
