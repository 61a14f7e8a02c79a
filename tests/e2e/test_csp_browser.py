"""Chromium reports no Content-Security-Policy violation on the pages that do the most."""

import re

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def test_project_and_clip_pages_satisfy_the_policy(live_studio, alice_project, strict_page):
    page = strict_page
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.add_init_script(WATCH)
    page.goto(f"{live_studio}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/projects/$"))
    page.goto(f"{live_studio}/projects/{alice_project.pk}/")
    page.wait_for_function("document.querySelector('[ws-connect]') !== null")
    page.fill("#id_text", "A lantern swinging in the wind")
    page.fill("#id_resolution", "256")
    page.fill("#id_duration_s", "1")
    page.select_option("#id_engine", "animatic")
    page.click("#prompt-form button[type=submit]")  # htmx request, then live cards by socket.
    page.wait_for_selector("#jobs progress.bar", timeout=30_000)
    page.wait_for_selector("#jobs video", timeout=120_000)
    project_violations = page.evaluate("window.__violations")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "csp-project.png"), full_page=True)

    page.click("#jobs a[href^='/clips/']")
    page.wait_for_selector(".clip-page video")
    page.wait_for_function("document.querySelector('.clip-page video').readyState >= 2")
    clip_violations = page.evaluate("window.__violations")
    page.screenshot(path=str(ARTIFACTS / "csp-clip.png"), full_page=True)

    assert project_violations == [] and clip_violations == [], (
        project_violations,
        clip_violations,
    )
    assert not [m for m in console if "Content Security Policy" in m], console
