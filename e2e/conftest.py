"""Browser tests: headless Debian Chromium driven by Playwright against live_server."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from e2e.axe_scan import AxeScanner, scan_now, watch

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


def _axe_exemptions(item) -> list[tuple[str, str]]:
    """`@pytest.mark.axe_exempt("rule-id", reason="why", path="/prefix/")`: the only way to let a
    rule pass, on the pages under `path` (every page the test opens when no path is given)."""
    exempt = []
    for mark in item.iter_markers("axe_exempt"):
        rule, reason = (mark.args[0] if mark.args else ""), mark.kwargs.get("reason", "")
        if not rule or not reason.strip():
            raise pytest.UsageError(f"{item.nodeid}: axe_exempt needs the rule id and reason='why'")
        exempt.append((rule, mark.kwargs.get("path", "/")))
    return exempt


@pytest.fixture
def page(page, request):
    """pytest-playwright's page, failing the test that uses it
    - if the browser reports a Content-Security-Policy violation (an inline script, style or
      handler, or a resource from elsewhere): every page must work under the policy the app sends
      (settings.py);
    - if axe-core finds a serious or critical accessibility violation on any page the test opened
      (e2e/axe_scan.py); `@pytest.mark.axe_exempt` lets one rule pass, with the reason."""
    violations: list[str] = []

    def record(msg):
        if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text:
            violations.append(f"{page.url}: {msg.text}")

    page.on("console", record)
    scanner = AxeScanner(_axe_exemptions(request.node))
    watch(page, scanner)
    yield page
    if not page.is_closed() and page.url.startswith("http"):
        scan_now(page, scanner)
        # A scan that can never run (axe refused, say) must not pass as "no violations".
        assert scanner.scanned, "axe-core scanned no page: " + "; ".join(scanner.errors)
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)
    assert not scanner.violations, "Accessibility violations (axe-core, serious or critical):\n" + scanner.report()


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


# Tasks run at once, in the request that enqueues them: a browser test sees a bill go without a worker.
IMMEDIATE_TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "healthcode"]}
}


@pytest.fixture
def sandbox(tmp_path):
    """The sandbox clearing house as a real process of its own, for this test."""
    from openpractice.healthcode.client import clear_caches
    from sandbox.testing import start_sandbox

    clear_caches()
    process = start_sandbox(tmp_path / "sandbox")
    yield process
    process.stop()


def demo_practice_on(sandbox):
    """The demo practice (set-up only), connected to `sandbox` with credentials that passed the test."""
    from django.core.management import call_command

    from openpractice.healthcode.credentials import save_healthcode_credentials
    from openpractice.healthcode.services import test_connection
    from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE
    from openpractice.practices.models import Practice

    call_command("load_reference_codes")  # ICD-10 and the insurer directory, gone after an earlier test's flush
    call_command("seed_demo")
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    save_healthcode_credentials(
        practice=practice,
        environment="sandbox",
        discovery_url=f"{sandbox.url}/.well-known/discovery-document.json",
        site_id=sandbox.site_id,
        api_key_id=sandbox.client_id,
        api_key=sandbox.client_secret,
    )
    assert test_connection(practice=practice).ok
    return practice


def demo_insurer_drafts(practice, count: int) -> list:
    """Draft insurer invoices (an initial consultation today, passing the pre-submission check) of
    the demo's patient Bennett: the demo without its year of history has none to list."""
    from openpractice.billing import services
    from openpractice.patients.models import Patient
    from openpractice.practices.models import Membership
    from openpractice.products.models import Product

    patient = Patient.objects.get(practice=practice, last_name="Bennett")
    data = {
        "bill_to": "insurer",
        "patient": patient,
        "insurance": patient.relationships.get(relationship_type="insurance"),
        "practitioner": Membership.objects.get(practice=practice, user__email__startswith="dr.patel"),
        "invoice_date": dt.date.today(),
        "primary_diagnosis": "M17.1",
        "service_setting": "outpatient",
    }
    product = Product.objects.get(practice=practice, name="Initial consultation")
    lines = [{"product": product, "service_date": dt.date.today(), "quantity": 1}]
    return [services.create_invoice(practice=practice, data=dict(data), lines=list(lines)) for _ in range(count)]
