"""Pages stay cheap as the gallery grows, and a failed submit keeps the page around it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from studio.prompts.services import prompt_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_clips(alice, alice_project, run_worker, django_capture_on_commit_callbacks):
    def make(n):
        with django_capture_on_commit_callbacks(execute=True):
            for k in range(n):
                prompt_submit(
                    project=alice_project, user=alice,
                    data={"text": f"shot {k}", "engine": "animatic", "aspect_ratio": "1:1",
                          "resolution": 64, "duration_s": 0.25, "fps": 8},
                )  # fmt: skip
        run_worker()

    return make


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_project_page_queries_do_not_grow_with_clips(alice_client, alice_project, make_clips):
    url = reverse("project-detail", args=[alice_project.pk])
    make_clips(1)
    one = _queries(alice_client, url)
    make_clips(5)
    assert _queries(alice_client, url) == one


def test_failed_submit_without_javascript_keeps_the_gallery(
    alice_client, alice_project, make_clips
):
    make_clips(1)
    response = alice_client.post(reverse("generate", args=[alice_project.pk]), {"text": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Write a prompt." in html and "shot 0" in html
