"""The creative surface in Chromium at 1360×900 and 390×844: the live builder, variants,
favourites and filters, delete, and a layout that holds (long words, 9:16 clips)."""

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1360, "height": 900}


@pytest.fixture
def project_id(alice, alice_project):
    """Made before the browser starts: Django's ORM refuses to run inside Playwright's loop."""
    return alice_project.pk


def login(page, base):
    page.goto(f"{base}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-pass-123")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/projects/")


def overflow(page) -> int:
    """How many pixels the page is wider than the viewport (0: no horizontal scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def generate(page, **fields):
    """Fill the prompt form and submit; return the ids of the new job cards."""
    before = set(page.eval_on_selector_all("#jobs article", "els => els.map(e => e.id)"))
    for name, value in fields.items():
        selector = f"#prompt-form [name={name}]"
        if page.eval_on_selector(selector, "e => e.tagName") == "SELECT":
            page.select_option(selector, value)
        else:
            page.fill(selector, value)
    page.click("#prompt-form button[type=submit]")
    expect = int(fields.get("variants", "1"))
    page.wait_for_function(
        "n => document.querySelectorAll('#jobs article').length >= n", arg=len(before) + expect
    )
    after = page.eval_on_selector_all("#jobs article", "els => els.map(e => e.id)")
    return [i for i in after if i not in before]


def wait_for_clips(page, ids, timeout=120_000):
    for card in ids:
        page.wait_for_selector(f"#{card} video", timeout=timeout)


def test_live_builder_examples_and_presets(live_studio, project_id, browser_page):
    page = browser_page
    login(page, live_studio)
    page.goto(f"{live_studio}/projects/{project_id}/")
    page.click("details.builder summary")
    page.fill("#id_subject", "a red fox")
    page.fill("#id_action", "trots slowly")
    page.fill("#id_environment", "through fresh snow")
    page.wait_for_function(
        "document.querySelector('#id_text').value === 'A red fox trots slowly through fresh snow.'"
    )
    # The hints are live: static camera and no camera words.
    page.wait_for_selector("#builder-preview [data-rule='camera']")
    # A camera preset puts its phrase in the Camera part, and the hint goes away.
    page.select_option("#id_camera_motion", "orbit")
    page.wait_for_function("document.querySelector('#id_camera').value.includes('orbits')")
    page.wait_for_function("!document.querySelector(\"#builder-preview [data-rule='camera']\")")
    # A style shows the negative prompt it adds.
    page.select_option("#id_style_preset", "noir")
    page.wait_for_selector("#builder-preview >> text=adds to the negative prompt")
    # Hand edits stay: typing in a part no longer overwrites the prompt.
    page.fill("#id_text", "My own words about a fox")
    page.fill("#id_lighting", "moonlight")
    page.wait_for_selector("#builder-preview [data-action='use-assembled']")
    assert page.input_value("#id_text") == "My own words about a fox"
    # Limits: over the engine's limit is a warning now, not a silent cut.
    page.fill("#id_text", "x" * 2100)
    page.wait_for_selector("#builder-preview .counter.over")
    assert len(page.input_value("#id_text")) == 2100
    # Platform presets set the frame; examples are one click away.
    page.select_option("#id_platform", "tiktok")
    assert page.input_value("#id_aspect_ratio") == "9:16"
    assert page.input_value("#id_fps") == "30"
    page.click("text=Dark forest")
    page.wait_for_function("document.querySelector('#id_text').value.includes('lantern')")
    # htmx wires up the swapped-in form when it settles; no person is faster than that.
    page.wait_for_function("!document.querySelector('.htmx-added, .htmx-settling')")
    # A product mood sets the look, the light and the camera, and the prompt follows.
    page.select_option("#id_mood", "premium")
    page.wait_for_function(
        "document.querySelector('#id_text').value.includes('gentle rim light on a dark')"
    )
    assert page.input_value("#id_camera_motion") == "orbit"
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#jobs article", timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "builder.png"), full_page=True)


def test_variants_favourites_filters_and_delete(live_studio, project_id, browser_page):
    page = browser_page
    login(page, live_studio)
    page.goto(f"{live_studio}/projects/{project_id}/")
    page.wait_for_timeout(300)  # the socket connects
    assert page.is_visible("text=Finished clips land here")
    cards = generate(page, text="a paper boat drifts slowly on a pond", variants="3",
                     resolution="256", duration_s="0.5", fps="8")  # fmt: skip
    assert len(cards) == 3
    # The socket may bring the cards first; the submit's response then groups them.
    page.wait_for_function("document.querySelectorAll('#jobs .variants article').length === 3")
    group = page.locator("#jobs .variants")
    assert group.count() == 1 and group.locator("article").count() == 3
    wait_for_clips(page, cards)
    assert not page.is_visible("text=Finished clips land here")
    # Side by side: the three cards share a row at 1360 px.
    tops = [page.locator(f"#{c}").bounding_box()["y"] for c in cards]
    assert max(tops) - min(tops) < 2, tops
    page.screenshot(path=str(ARTIFACTS / "variants.png"))

    generate(page, text="a lighthouse at night, waves crash", resolution="256",
             duration_s="0.5", fps="8", variants="1")  # fmt: skip
    # Star the keeper among the variants.
    star = page.locator(f"#{cards[1]} .star-form button")
    star.click()
    page.wait_for_selector(f"#{cards[1]} .star-form button[aria-pressed='true']")

    page.reload()
    assert page.locator("#gallery .clip").count() == 4
    page.check("#gallery-filters input[name=favourite]")
    page.wait_for_function("document.querySelectorAll('#gallery .clip').length === 1")
    page.uncheck("#gallery-filters input[name=favourite]")
    page.wait_for_function("document.querySelectorAll('#gallery .clip').length === 4")
    page.fill("#gallery-filters input[name=q]", "lighthouse")
    page.wait_for_function("document.querySelectorAll('#gallery .clip').length === 1")
    assert "lighthouse" in page.inner_text("#gallery")

    # Delete it from its page (the confirm dialog is accepted), and it is gone.
    page.click("#gallery .clip .gen-prompt a")
    page.wait_for_selector("#delete")
    page.once("dialog", lambda d: d.accept())
    page.click("#delete button[type=submit]")
    page.wait_for_url(f"{live_studio}/projects/{project_id}/")
    assert page.locator("#gallery .clip").count() == 3
    assert "lighthouse" not in page.inner_text("#gallery")


def test_layout_holds_on_a_phone_and_a_desktop(live_studio, project_id, browser_page):
    page = browser_page
    login(page, live_studio)
    page.goto(f"{live_studio}/projects/{project_id}/")
    page.wait_for_timeout(300)
    word = "Z" * 2000  # one unbroken 2,000-character word
    wide = generate(page, text=word, resolution="256", duration_s="0.5", fps="8")
    tall = generate(page, text="a tall lighthouse, waves crash slowly", aspect_ratio="9:16",
                    resolution="1280", duration_s="0.5", fps="8")  # fmt: skip
    wait_for_clips(page, wide + tall)
    word_page = page.get_attribute(f"#{wide[0]} .gen-prompt a", "href")
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.reload()
        page.wait_for_selector("#gallery .clip .thumb img")
        assert overflow(page) <= 0, (viewport, overflow(page))
        # Generate stays on screen horizontally.
        button = page.locator("#prompt-form button[type=submit]").bounding_box()
        assert button["x"] >= 0 and button["x"] + button["width"] <= viewport["width"]
        # The 9:16 clip fits the viewport's height, in the gallery and on its page.
        thumb = page.locator("#gallery .clip[data-portrait] .thumb img").first
        assert thumb.bounding_box()["height"] <= viewport["height"]
        # The phone nav stays on one line.
        nav = page.locator(".topbar nav").bounding_box()
        assert nav["height"] < 40, nav
        page.screenshot(path=str(ARTIFACTS / f"project-{viewport['width']}.png"), full_page=True)
        page.locator("#gallery .clip[data-portrait] .gen-prompt a").click()
        page.wait_for_selector(".clip-page video")
        assert page.locator(".clip-page video").first.bounding_box()["height"] <= viewport["height"]
        assert overflow(page) <= 0
        page.go_back()
    # After Generate on a phone, the new card (below the form) is brought into view.
    generate(page, text="a kite rises slowly over the dunes", aspect_ratio="16:9",
             resolution="256", duration_s="0.5", fps="8")  # fmt: skip
    page.wait_for_function(
        "() => { const el = document.querySelector('#jobs .variants');"
        " if (!el) return false;"  # the submit's response has not landed yet
        " const r = el.getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight; }"
    )
    # The unbroken word's own clip page does not widen the phone either.
    page.goto(f"{live_studio}{word_page}")
    page.wait_for_selector(".clip-page video")
    assert "ZZZZ" in page.inner_text(".clip-page")
    assert overflow(page) <= 0
