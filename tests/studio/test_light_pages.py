"""Light pages: gallery thumbnails, cached media, compressed HTML, hashed static files."""

import gzip
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from studio.jobs.models import Clip
from studio.projects.models import Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def gallery(alice):
    out = StringIO()
    call_command("seed_gallery", alice.username, "3", stdout=out, stderr=StringIO())
    return Project.objects.get(pk=int(out.getvalue()))


def test_gallery_cards_show_lazy_thumbnails_and_the_clip_page_the_full_poster(
    alice_client, gallery
):
    clip = gallery.clips.order_by("-created_at").first()
    page = alice_client.get(reverse("project-detail", args=[gallery.pk])).content.decode()
    thumb = reverse("clip-thumbnail", args=[clip.pk])
    assert f'<img src="{thumb}" loading="lazy"' in page
    assert reverse("clip-poster", args=[clip.pk]) not in page
    detail = alice_client.get(reverse("clip-detail", args=[clip.pk])).content.decode()
    assert f'poster="{reverse("clip-poster", args=[clip.pk])}"' in detail

    response = alice_client.get(thumb)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    image = Image.open(default_storage.open(clip.thumbnail_name))
    assert image.width == 320 and image.height == 180  # the 512×288 poster, shrunk
    data = b"".join(response.streaming_content)
    with default_storage.open(clip.poster.name) as fh:
        assert len(data) < len(fh.read()) / 2
    assert "immutable" in response["Cache-Control"]
    again = alice_client.get(thumb, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_a_clips_thumbnail_goes_with_it(alice_client, gallery, django_capture_on_commit_callbacks):
    clip = Clip.objects.filter(project=gallery).order_by("-created_at").first()
    assert alice_client.get(reverse("clip-thumbnail", args=[clip.pk])).status_code == 200
    assert default_storage.exists(clip.thumbnail_name)
    with django_capture_on_commit_callbacks(execute=True):
        gallery.delete()
    assert not default_storage.exists(clip.thumbnail_name)


def test_an_unreadable_poster_is_served_as_it_is(alice_client, gallery):
    clip = gallery.clips.first()
    with default_storage.open(clip.poster.name, "wb") as fh:
        fh.write(b"not a jpeg")
    response = alice_client.get(reverse("clip-thumbnail", args=[clip.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"not a jpeg"


def test_pages_are_compressed_media_is_not(alice_client, gallery):
    page = alice_client.get(
        reverse("project-detail", args=[gallery.pk]), HTTP_ACCEPT_ENCODING="gzip"
    )
    assert page["Content-Encoding"] == "gzip"
    assert b"<!doctype html>" in gzip.decompress(page.content)
    clip = gallery.clips.first()
    video = alice_client.get(
        reverse("clip-video", args=[clip.pk]), HTTP_ACCEPT_ENCODING="gzip", HTTP_RANGE="bytes=0-99"
    )
    assert video.status_code == 206 and not video.has_header("Content-Encoding")
    assert video["Content-Length"] == "100"


def test_static_files_get_hashed_names_once_collected(alice_client, settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    page = alice_client.get(reverse("project-list")).content.decode()
    assert '/static/css/studio.css"' in page  # no manifest yet: the plain name
    call_command("collectstatic", "--no-input", verbosity=0)
    page = alice_client.get(reverse("project-list")).content.decode()
    assert '/static/css/studio.css"' not in page
    assert any(p.name.endswith(".css.gz") for p in (tmp_path / "static/css").iterdir())
