"""The accessibility scan itself (e2e/axe_scan.py): it runs under the app's Content-Security-Policy,
finds a violation on a page the test leaves, and lets an exempted rule pass only on its path."""

from __future__ import annotations

import pytest

from e2e.axe_scan import AxeScanner, scan_now, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMAGE_WITHOUT_ALT = "document.querySelector('main, body').insertAdjacentHTML('beforeend', '<img src=\"/x.png\">')"


@pytest.fixture
def bare_page(browser):
    """A page outside the `page` fixture (whose own scan would fail this test on purpose-made faults)."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


def test_a_violation_on_a_page_the_test_leaves_is_found_under_the_policy(bare_page, live_server):
    scanner = AxeScanner([])
    watch(bare_page, scanner)
    response = bare_page.goto(f"{live_server.url}/accounts/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    bare_page.evaluate(IMAGE_WITHOUT_ALT)
    bare_page.goto(f"{live_server.url}/accounts/password/reset/")  # the action scans the login page first
    assert ("/accounts/login/", "image-alt") in scanner.violations
    assert "img" in scanner.violations[("/accounts/login/", "image-alt")]["targets"][0]
    assert "image-alt (critical)" in scanner.report()


def test_an_exempted_rule_passes_on_its_path_only(bare_page, live_server):
    scanner = AxeScanner([("image-alt", "/accounts/login/")])
    watch(bare_page, scanner)
    for path in ["/accounts/login/", "/accounts/password/reset/"]:
        bare_page.goto(f"{live_server.url}{path}")
        bare_page.evaluate(IMAGE_WITHOUT_ALT)
        scan_now(bare_page, scanner)
    assert list(scanner.violations) == [("/accounts/password/reset/", "image-alt")]


def test_each_state_is_scanned_once(bare_page, live_server):
    scanner = AxeScanner([])
    watch(bare_page, scanner)
    for _ in range(2):
        bare_page.goto(f"{live_server.url}/accounts/login/")
    scan_now(bare_page, scanner)
    assert scanner.scanned == {"/accounts/login/"}
    assert not scanner.violations
