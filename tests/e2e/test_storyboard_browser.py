"""A storyboard in Chromium: add, edit, duplicate, delete shots, and reorder them by
dragging with the mouse and with the keyboard's Up/Down buttons."""

import re

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e


@pytest.fixture
def board_id(alice, alice_project):
    """Made before the browser starts: Django's ORM refuses to run inside Playwright's loop."""
    from studio.storyboards import services

    board = services.storyboard_create(
        project=alice_project, user=alice, name="Night walk", engine="animatic"
    )
    for text in ("Fox", "Run", "Moon"):
        services.shot_add(storyboard=board, data={"description": text, "duration_s": 1})
    return board.pk


def shot_texts(page):
    return [t.strip() for t in page.locator("#shots li.shot .shot-text").all_inner_texts()]


def test_storyboard_crud_and_reorder_with_mouse_and_keyboard(live_studio, board_id, browser_page):
    page = browser_page
    page.goto(f"{live_studio}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-pass-123")
    page.click("button[type=submit]")
    page.goto(f"{live_studio}/storyboards/{board_id}/")
    assert shot_texts(page) == ["Fox", "Run", "Moon"]

    # Add a shot through the side form.
    page.fill("#add-shot textarea[name=description]", "Dawn")
    page.select_option("#add-shot select[name=camera_motion]", "zoom_in")
    with page.expect_navigation():
        page.click("#add-shot button[type=submit]")
    assert shot_texts(page) == ["Fox", "Run", "Moon", "Dawn"]

    # Mouse: drag "Moon" above "Fox"; the saved order comes back from the server.
    moon = page.locator("#shots li.shot", has_text="Moon")
    fox = page.locator("#shots li.shot", has_text="Fox")
    moon.drag_to(fox, target_position={"x": 40, "y": 5})
    page.wait_for_function(
        "document.querySelector('#shots li.shot .shot-text').textContent.trim() === 'Moon'"
    )
    page.wait_for_timeout(300)
    page.reload()
    assert shot_texts(page) == ["Moon", "Fox", "Run", "Dawn"]

    # Keyboard: focus "Move shot 1 down" and press Enter, then Space on shot 4's "up".
    page.focus("button[aria-label='Move shot 1 down']")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelector('#shots li.shot .shot-text').textContent.trim() === 'Fox'"
    )
    assert shot_texts(page) == ["Fox", "Moon", "Run", "Dawn"]
    page.focus("button[aria-label='Move shot 4 up']")
    page.keyboard.press("Space")
    page.wait_for_function(
        "document.querySelectorAll('#shots li.shot .shot-text')[2].textContent.trim() === 'Dawn'"
    )
    page.reload()
    assert shot_texts(page) == ["Fox", "Moon", "Dawn", "Run"]

    # Duplicate and delete (htmx swaps the list in place; delete asks first).
    page.locator("#shots li.shot", has_text="Moon").get_by_role("button", name="Duplicate").click()
    page.wait_for_function("document.querySelectorAll('#shots li.shot').length === 5")
    assert shot_texts(page) == ["Fox", "Moon", "Moon", "Dawn", "Run"]
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#shots li.shot", has_text="Run").get_by_role("button", name="Delete").click()
    page.wait_for_function("document.querySelectorAll('#shots li.shot').length === 4")

    # Edit a shot on its own page.
    page.locator("#shots li.shot", has_text="Dawn").get_by_role("link", name="Edit").click()
    page.fill("#shot-form textarea[name=description]", "Dawn breaks")
    with page.expect_navigation():
        page.click("#shot-form button[type=submit]")
    assert re.search(rf"/storyboards/{board_id}/$", page.url)
    assert shot_texts(page) == ["Fox", "Moon", "Moon", "Dawn breaks"]
    page.screenshot(path=str(ARTIFACTS / "storyboard-edit.png"), full_page=True)


def test_a_finished_take_offers_use_this_take_without_a_reload(live_studio, board_id, browser_page):
    """The live push swaps the take's card; storyboard.js then refreshes the row around it."""
    page = browser_page
    page.goto(f"{live_studio}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-pass-123")
    page.click("button[type=submit]")
    page.goto(f"{live_studio}/storyboards/{board_id}/")
    first = page.locator("#shots li.shot").first
    first.get_by_role("button", name="Generate").click()
    first.locator(".take").wait_for()
    url = page.url
    # Twice: the first take is used by the edit; the second offers "Use this take".
    first.get_by_role("button", name="Regenerate").click()
    page.locator("#shots li.shot").first.get_by_role("button", name="Use this take").wait_for(
        timeout=60_000
    )
    assert page.url == url  # No reload, no navigation.
    page.screenshot(path=str(ARTIFACTS / "storyboard-take-live.png"))
