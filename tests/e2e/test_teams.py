"""Two people in Chromium: the owner invites a teammate by link, the teammate joins and
watches the owner's job progress live on their own page."""

import re

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e


@pytest.fixture
def crew(alice, bob, alice_project):
    """Made before the browser starts: Django's ORM refuses to run inside Playwright's loop."""
    return alice_project.team_id, alice_project.pk


def _log_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/projects/$"))


def test_invite_by_link_then_watch_a_teammates_job_live(crew, live_studio, browser):
    team_id, project_id = crew
    owner = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
    mate = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()

    _log_in(owner, live_studio, "alice")
    owner.click("nav a:has-text('Teams')")
    owner.click(f"#team-table a[href='/teams/{team_id}/']")
    owner.select_option("#id_role", "viewer")
    owner.fill("#id_max_uses", "1")
    owner.click("#invite-link-form button[type=submit]")
    link = owner.inner_text("#new-invite-link").strip()
    assert re.fullmatch(rf"{live_studio}/invite/[\w-]+/", link), link

    _log_in(mate, live_studio, "bob")
    mate.goto(link)
    assert "as viewer" in mate.inner_text("#invitation")
    mate.click("#accept-invitation button")
    mate.wait_for_url(re.compile(rf"/teams/{team_id}/$"))
    assert "bob" in mate.inner_text("#members")
    mate.click(f"#team-project-{project_id} a")
    mate.wait_for_url(re.compile(rf"/projects/{project_id}/$"))
    assert mate.locator("#prompt-form").count() == 0  # a viewer watches, and cannot generate
    mate.evaluate(
        """() => {
            window.__seen = [];
            new MutationObserver(() => {
                for (const bar of document.querySelectorAll('#jobs progress.bar')) {
                    window.__seen.push(Number(bar.getAttribute('value')));
                }
            }).observe(document.getElementById('jobs'), {subtree: true, childList: true, attributes: true});
        }"""
    )
    mate.wait_for_timeout(500)  # Let the websocket connect before the job starts.

    # The owner sees the teammate on the team page: screenshots for the docs.
    owner.goto(f"{live_studio}/teams/{team_id}/")
    ARTIFACTS.mkdir(exist_ok=True)
    owner.screenshot(path=str(ARTIFACTS / "team-page.png"), full_page=True)
    owner.set_viewport_size({"width": 390, "height": 844})
    owner.reload()
    owner.screenshot(path=str(ARTIFACTS / "team-page-phone.png"), full_page=True)
    owner.set_viewport_size({"width": 1360, "height": 900})

    owner.goto(f"{live_studio}/projects/{project_id}/")
    owner.fill("#id_text", "Gulls over a harbour at dawn")
    owner.fill("#id_resolution", "256")
    owner.fill("#id_duration_s", "4")
    owner.fill("#id_fps", "12")
    owner.fill("#id_variants", "2")
    owner.click("#prompt-form button[type=submit]")

    mate.wait_for_selector("#jobs progress.bar", timeout=30_000)
    # The two variants reach the teammate one card at a time and sit side by side, as
    # they do after a reload.
    mate.wait_for_function(
        "() => document.querySelectorAll('#jobs > .variants > article').length === 2",
        timeout=30_000,
    )
    mate.wait_for_function(
        "() => document.querySelectorAll('#jobs video').length === 2", timeout=120_000
    )
    queued = mate.eval_on_selector_all(
        "#jobs > .variants > article", "els => els.map(e => parseFloat(e.dataset.queued))"
    )
    assert queued == sorted(queued), queued  # In the order they were made.
    assert mate.get_attribute("#jobs > .variants", "aria-label") == "2 variants"
    seen = mate.evaluate("window.__seen")
    assert len(set(seen)) >= 2 and max(seen) > min(seen), seen
    card = mate.inner_text("#jobs")
    assert "Gulls over a harbour at dawn" in card and "alice" in card
    mate.screenshot(path=str(ARTIFACTS / "teammate-watching.png"), full_page=True)
