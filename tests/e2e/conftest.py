"""Real-browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium) against a live server.

No browser is downloaded. Where Chromium is missing (and `make test` could not install it) these tests are
skipped with one line saying so; CI installs it, so CI always runs them. Screenshots of every step go to
tests/e2e/screenshots/<test name>/.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).parent / "screenshots"
# Chromium's background services try the internet at start; this machine's network is closed.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _skip_reason():
    reason = _missing()
    if reason and os.environ.get("PORTAL_REQUIRE_BROWSER"):
        pytest.fail(reason.replace("skipped", "cannot run") + "; PORTAL_REQUIRE_BROWSER is set (CI)")
    return reason


def _missing():
    if not Path(CHROMIUM).exists():
        return f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "browser tests skipped: Playwright for Python is not installed (requirements-dev.txt)"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread for the whole session; the ORM calls the tests
    # and their database fixtures make in between are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


class Steps:
    """One browser page plus numbered screenshots of each step."""

    def __init__(self, page, folder, base_url):
        self.page, self.folder, self.base_url, self.count = page, folder, base_url, 0
        self.problems = []
        # A script error, a refused policy or a missing file on any page fails the test.
        page.on("console", lambda m: self.problems.append(f"{page.url}: {m.text}") if m.type == "error" else None)
        page.on("response", lambda r: self.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def go(self, path):
        self.page.goto(self.base_url + path)

    def shot(self, name):
        self.count += 1
        self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)

    def login(self, username, password):
        self.go("/admin/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.shot(f"login-{username}")
        self.page.click("input[type=submit]")
        self.page.wait_for_url(re.compile(r".*/admin/$"))


@pytest.fixture
def steps(browser, live_server, request, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    folder = SHOTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    context = browser.new_context(
        viewport={"width": 1366, "height": 900}, accept_downloads=True, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield Steps(page, folder, live_server.url)
    context.close()
