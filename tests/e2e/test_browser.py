"""A new user in Chromium: sign up, create a project, generate an animatic, watch it play."""

import re
import uuid

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e


def test_sign_up_to_playing_clip(live_studio, browser_page):
    page = browser_page
    page.goto(f"{live_studio}/signup/")
    page.fill("#id_username", "erin")
    page.fill("#id_password1", "a-Long-passw0rd!")
    page.fill("#id_password2", "a-Long-passw0rd!")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/projects/$"))

    page.fill("#id_name", "Coastline")
    page.click("#new-project button[type=submit]")
    page.wait_for_url(re.compile(r"/projects/\d+/$"))

    page.fill("#id_text", "Waves rolling onto a rocky coastline at golden hour")
    page.select_option("#id_camera_motion", "pan_right")
    page.select_option("#id_style_preset", "cinematic")
    page.fill("#id_resolution", "1280")
    page.fill("#id_duration_s", "8")
    page.fill("#id_fps", "24")
    page.select_option("#id_engine", "animatic")
    # Record every progress value the page shows, and mark the window to detect reloads.
    page.evaluate(
        """() => {
            window.__noReload = true;
            window.__seen = [];
            new MutationObserver(() => {
                for (const bar of document.querySelectorAll('#jobs progress.bar')) {
                    window.__seen.push(Number(bar.getAttribute('value')));
                }
            }).observe(document.getElementById('jobs'), {subtree: true, childList: true, attributes: true});
        }"""
    )
    page.click("#prompt-form button[type=submit]")
    page.wait_for_selector("#jobs progress.bar", timeout=30_000)
    page.wait_for_selector("#jobs video", timeout=120_000)
    page.wait_for_function("document.querySelector('#jobs video').readyState >= 2", timeout=30_000)

    seen = page.evaluate("window.__seen")
    assert page.evaluate("window.__noReload") is True
    # The response and the socket both bring the new card; the page keeps one.
    assert page.locator("#jobs article[id^='generation-']").count() == 1
    assert len(set(seen)) >= 3, seen
    assert max(seen) > min(seen)
    card = page.inner_text("#jobs")
    assert "1280×720" in card and "192 @ 24 fps" in card
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "studio-project.png"), full_page=True)

    page.click("#jobs a[href^='/clips/']")
    page.wait_for_selector(".clip-page video")
    page.screenshot(path=str(ARTIFACTS / "studio-clip.png"), full_page=True)


@pytest.fixture
def project_key(alice, alice_project):
    """Made before the browser starts: Django's ORM refuses to run inside Playwright's loop."""
    from studio.keys.services import api_key_create

    _, key = api_key_create(team=alice_project.team, user=alice, name="e2e", project=alice_project)
    return alice_project.pk, key


def test_a_job_started_from_the_api_appears_live(live_studio, project_key, browser_page):
    from openai import OpenAI

    project_id, key = project_key
    page = browser_page
    page.goto(f"{live_studio}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-pass-123")
    page.click("button[type=submit]")
    page.goto(f"{live_studio}/projects/{project_id}/")
    page.wait_for_function("document.querySelector('[ws-connect]') !== null")
    page.wait_for_timeout(500)  # Let the websocket connect before the job starts.

    client = OpenAI(base_url=f"{live_studio}/v1", api_key=key, max_retries=0)
    video = client.videos.create(
        prompt="a paper boat on a pond", model="animatic", seconds="1", size="128x72"
    )
    card = f"#jobs #generation-{uuid.UUID(video.id.removeprefix('video_'))}"
    page.wait_for_selector(card, timeout=30_000)
    page.wait_for_selector(f"{card} video", timeout=120_000)
    assert "a paper boat on a pond" in page.inner_text(card)
