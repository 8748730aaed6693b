"""Browser tests: headless Debian Chromium driven by Playwright against live_server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

# Playwright's sync API runs an event loop in the test thread; the ORM calls in the same test
# (set-up of data) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Assertions after a click wait for the page to catch up; CI machines are loaded, so allow longer
# than Playwright's 5 s default.
expect.set_options(timeout=15_000)

SCREENSHOTS = Path(os.environ.get("OPENPRACTICE_TEST_OUTPUT", "test-results")) / "screenshots"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def page(page):
    """pytest-playwright's page, failing the test that uses it if the browser reports a
    Content-Security-Policy violation (an inline script, style or handler, or a resource from
    elsewhere): every page must work under the policy the app sends (settings.py)."""
    violations: list[str] = []

    def record(msg):
        if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text:
            violations.append(f"{page.url}: {msg.text}")

    page.on("console", record)
    yield page
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def console_errors(page):
    """Collects JavaScript console errors and page errors; tests assert it stays empty."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


@pytest.fixture
def login(page, live_server):
    def do(email: str, password: str):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("networkidle")

    return do
