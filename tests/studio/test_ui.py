"""The page furniture that makes the studio hold up: accessibility hooks, styled error
pages, the favicon, the light theme, and the API keys' copy button and revoke confirm."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from studio.keys.services import api_key_create

pytestmark = pytest.mark.django_db

CSS = (Path(settings.BASE_DIR) / "static" / "css" / "studio.css").read_text()


def test_project_page_has_the_accessibility_hooks(alice_client, alice_project):
    html = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    assert '<a class="skip-link" href="#main">' in html and '<main id="main"' in html
    assert 'id="announcer"' in html and 'aria-live="polite"' in html
    # The negative prompt has a real label, not only a <summary>.
    assert re.search(r'<label for="id_negative_text"[^>]*>Negative prompt</label>', html)
    assert 'rel="icon"' in html and 'name="color-scheme"' in html
    assert "<script>" not in html and "onclick=" not in html  # no inline script (CSP)
    assert 'style="' not in html  # nor inline styles


def test_videos_have_accessible_names(alice_client, alice_project, redis_conn):
    from studio.prompts.services import prompt_submit  # noqa: I001
    from tests.studio.test_gallery import BASE

    prompt_submit(project=alice_project, user=alice_project.created_by,
                  data={**BASE, "text": "a harbour at dawn"})  # fmt: skip
    from studio.jobs.models import Clip, Generation

    g = Generation.objects.get()
    clip = Clip(generation=g, project=alice_project, file="clips/x.mp4", poster="clips/x.jpg",
                width=64, height=64, fps=8, num_frames=2, pk=1)  # fmt: skip
    html = render_to_string("gallery/_clip.html", {"clip": clip, "compact": True})
    assert 'alt="Clip 1: a harbour at dawn"' in html  # the gallery's thumbnail
    html = render_to_string("gallery/_clip.html", {"clip": clip})
    assert 'aria-label="Clip 1: a harbour at dawn"' in html  # the clip page's video


def test_placeholder_contrast_and_light_theme():
    assert "::placeholder { color: #9aa3b5; opacity: 1; }" in CSS
    assert "@media (prefers-color-scheme: light)" in CSS
    assert ".work:has(#jobs .clip) .empty-gallery { display: none; }" in CSS


def _contrast(fg: str, bg: str) -> float:
    def lum(hex_color: str) -> float:
        rgb = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(fg), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize(
    ("placeholder", "field_background"), [("#9aa3b5", "#12151b"), ("#5b6475", "#f1f3f8")]
)
def test_placeholders_meet_4_5_to_1(placeholder, field_background):
    assert placeholder in CSS and field_background in CSS
    assert _contrast(placeholder, field_background) >= 4.5


def _badge_rules(css: str) -> dict[str, tuple[str, str]]:
    """`.badge-x` -> (background, color) for rules that set both (selector lists split)."""
    rules = {}
    pattern = r"([.\w\s,-]+)\{\s*background: (#[0-9a-f]{6}); color: (#[0-9a-f]{6}); \}"
    for selectors, bg, fg in re.findall(pattern, css):
        for selector in selectors.split(","):
            if selector.strip().startswith(".badge-"):
                rules[selector.strip()] = (bg, fg)
    return rules


def test_status_badges_are_readable_in_both_themes():
    # The light theme repaints `.badge`; a badge coloured for the dark theme only kept its
    # pale text on the light background ("Used in the edit" was unreadable).
    light_blocks = re.findall(r"@media \(prefers-color-scheme: light\) \{(.*?)\n\}", CSS, re.S)
    light = _badge_rules("\n".join(light_blocks))
    dark = _badge_rules(
        re.sub(r"@media \(prefers-color-scheme: light\) \{.*?\n\}", "", CSS, flags=re.S)
    )
    assert {".badge-active", ".badge-running", ".badge-failed"} <= dark.keys()
    for badge, (bg, fg) in dark.items():
        assert _contrast(fg, bg) >= 4.5, badge
        assert badge in light, f"{badge} has no light-theme colours"
        assert _contrast(light[badge][1], light[badge][0]) >= 4.5, badge


def test_styled_404_and_500(alice_client):
    response = alice_client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Not found" in html and "studio.css" in html and "Back to your projects" in html
    assert "Something went wrong" in render_to_string("500.html")


def test_api_keys_copy_button_and_revoke_confirm(alice_client, alice):
    team = alice.memberships.get().team
    response = alice_client.post(reverse("api-keys"), {"name": "farm", "team": team.pk})
    html = response.content.decode()
    assert 'data-copy="#new-key-secret"' in html
    api_key_create(team=team, user=alice, name="other")
    listing = alice_client.get(reverse("api-keys")).content.decode()
    assert "data-confirm=" in listing and "Scripts using it stop working" in listing
