"""Every page sends a Content-Security-Policy that it satisfies: no inline script or style."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from studio.jobs.models import Clip
from studio.prompts.services import prompt_submit

pytestmark = pytest.mark.django_db


class InlineFinder(HTMLParser):
    """What a strict CSP (no 'unsafe-inline') would block in a page."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script":
            # A JSON data block (json_script) is never run, so CSP has nothing to block.
            data_block = names.get("type") == "application/json"
            self._in_script = "src" not in names and not data_block
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{name}= on <{tag}>")
            if name == "style":
                self.found.append(f"style= on <{tag}>")
            if name in ("href", "src", "action") and (value or "").lower().startswith(
                "javascript:"
            ):
                self.found.append(f"javascript: URL on <{tag}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append(f"inline script: {data.strip()[:60]}")


def inline_code(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


def test_the_finder_sees_inline_code():
    html = '<script>alert(1)</script><p style="x" onclick="y"></p><script src="/a.js"></script>'
    assert len(inline_code(html)) == 3
    assert inline_code('<script type="application/json">{"a": 1}</script>') == []


@pytest.fixture
def clip(alice, alice_project, run_worker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        prompt_submit(
            project=alice_project, user=alice,
            data={"text": "a lighthouse", "engine": "animatic", "aspect_ratio": "1:1",
                  "resolution": 64, "duration_s": 0.25, "fps": 8},
        )  # fmt: skip
    run_worker()
    return Clip.objects.get()


def _check(response):
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    directives = dict(
        (d.split()[0], d.split()[1:]) for d in (p.strip() for p in policy.split(";")) if d
    )
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]
    assert "'self'" in directives["connect-src"]  # htmx's requests and its websocket.
    assert inline_code(response.content.decode()) == []


def test_public_pages(client):
    for name in ("login", "signup"):
        _check(client.get(reverse(name)))


def test_member_pages(alice_client, alice_project, clip):
    _check(alice_client.get(reverse("project-list")))
    _check(alice_client.get(reverse("project-detail", args=[alice_project.pk])))
    _check(alice_client.get(reverse("clip-detail", args=[clip.pk])))
    _check(alice_client.get(reverse("api-keys")))
    _check(alice_client.get(reverse("generation-detail", args=[clip.generation_id])))


def test_htmx_keeps_its_indicator_style_out_of_the_page(client):
    html = client.get(reverse("login")).content.decode()
    assert '"includeIndicatorStyles": false' in html
