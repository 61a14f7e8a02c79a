"""A real studio for the browser: daphne (ASGI) and an rqworker process on the test database."""

import os
from pathlib import Path

import pytest

from tests.live import running_studio

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture
def live_studio(transactional_db, redis_conn, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium.")
    with running_studio(tmp_path, {"STUDIO_ENGINES": "animatic"}) as url:
        yield url


@pytest.fixture
def browser_page():
    """A page whose CSP Chromium bypasses: Playwright's `wait_for_function` evaluates its
    predicate with eval, which the studio's policy forbids. `strict_page` keeps the policy
    (the CSP test watches it for violations)."""
    yield from _page(bypass_csp=True)


@pytest.fixture
def strict_page():
    yield from _page(bypass_csp=False)


def _page(*, bypass_csp: bool):
    for browser in _chromium():
        yield browser.new_page(viewport={"width": 1360, "height": 900}, bypass_csp=bypass_csp)


@pytest.fixture
def browser():
    """One Chromium for tests that need several people, each in their own context."""
    yield from _chromium()


def _chromium():
    """Debian's Chromium, launched headless with the flags the studio's checks use."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-quic",
                "--disable-sync",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()
