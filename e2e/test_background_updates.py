"""Must show: background work shows progress and the page updates itself when it finishes, with a
real task worker (django-tasks-db's, on a thread of this test) and the sandbox clearing house:

- "Fetch from Healthcode now" shows the fetch queued, then what it fetched and matched, and the new
  remittances appear in the list, all without the page reloading;
- an invoice page left open while its bill is collected and paid in the background updates its
  status badge, its Healthcode history and its payments panel together, without a reload."""

from __future__ import annotations

import re
import threading

import httpx
import pytest
from playwright.sync_api import expect

from e2e.conftest import demo_practice_on
from e2e.test_remittances import ADJUDICATED, _submitted
from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "healthcode"]}}


class WorkerThread:
    """django-tasks-db's worker loop, as `manage.py db_worker` runs it, on a thread: started when
    the test says, stopped (after its current task) at the end."""

    def __init__(self):
        from django_tasks_db.management.commands.db_worker import Worker

        self.worker = Worker(
            queue_names=["*"],
            interval=0.2,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="e2e-worker",
            excluded_queue_names=[],
        )
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        from django.db import connections

        try:
            self.worker.run()
        finally:
            connections.close_all()

    def start(self):
        self.thread.start()

    def stop(self):
        self.worker.running = False
        if self.thread.is_alive():
            self.thread.join(timeout=30)


@pytest.fixture
def worker(settings):
    settings.TASKS = DATABASE_TASKS
    started = WorkerThread()
    yield started
    started.stop()


@pytest.fixture
def navigations(page):
    """Every load of a whole page in the tab (the test asserts none happens while it waits)."""
    loads: list[str] = []
    page.on("framenavigated", lambda frame: loads.append(frame.url) if frame == page.main_frame else None)
    return loads


def _sandbox_admin(sandbox):
    admin = httpx.Client(base_url=sandbox.url, headers=sandbox.admin_headers, timeout=10)
    assert admin.put("/_sandbox/insurers/bup/adjudication", json={"mode": "pay_in_full"}).status_code == 200
    return admin


def test_fetch_now_shows_progress_then_the_new_remittances(
    page,
    live_server,
    login,
    screenshot,
    console_errors,
    sandbox,
    worker,
    navigations,
):
    practice = demo_practice_on(sandbox)
    admin = _sandbox_admin(sandbox)
    invoice = _submitted(practice, "Bennett", "Initial consultation")  # Bupa 180.00
    assert admin.post("/_sandbox/clock/advance", json={"seconds": ADJUDICATED}).status_code == 200
    login("billing@demo.openpractice.test", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/remittances/")
    expect(page.get_by_role("heading", name="No remittances yet")).to_be_visible()
    loads = len(navigations)

    page.get_by_role("button", name="Fetch from Healthcode now").click()
    progress = page.locator("#fetch-progress")
    expect(progress).to_have_attribute("data-state", "queued")  # no worker has taken it yet
    expect(progress).to_contain_text("Fetch from Healthcode queued")
    expect(progress.get_by_role("link", name="Refresh")).to_be_visible()
    screenshot(page, "background-1-fetch-queued")

    worker.start()
    expect(progress).to_have_attribute("data-state", "done", timeout=60_000)
    expect(page.locator("#fetch-outcome")).to_have_text("1 remittance fetched, 1 line matched")
    expect(page.get_by_role("link", name=re.compile("BACS-BUP-"))).to_have_count(1)
    expect(page.locator("#remittance-batches table.data tbody tr")).to_have_count(1)
    expect(page.get_by_role("heading", name="No remittances yet")).to_have_count(0)
    assert len(navigations) == loads, navigations  # the page never reloaded
    screenshot(page, "background-2-fetch-done")

    # A reload shows the same outcome: the run is kept.
    page.reload()
    expect(page.locator("#fetch-outcome")).to_have_text("1 remittance fetched, 1 line matched")
    invoice.refresh_from_db()
    assert invoice.balance == 0
    assert console_errors == []


def test_an_open_invoice_page_follows_its_bill_to_paid(
    page,
    live_server,
    login,
    screenshot,
    console_errors,
    sandbox,
    worker,
    navigations,
):
    from openpractice.remittances.tasks import fetch_practice_remittances

    practice = demo_practice_on(sandbox)
    admin = _sandbox_admin(sandbox)
    invoice = _submitted(practice, "Bennett", "Initial consultation")  # accepted: Unprocessed
    worker.start()
    login("billing@demo.openpractice.test", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/invoices/{invoice.pk}/")
    expect(page.locator("#hc-status")).to_contain_text("Unprocessed")
    expect(page.locator("#invoice-payments")).to_have_text("None yet.")
    expect(page.locator("#invoice-live").get_by_role("link", name="Refresh")).to_be_visible()
    history = page.locator("#submissions tbody tr")
    rows_before = history.count()
    loads = len(navigations)
    screenshot(page, "background-3-invoice-unprocessed")

    # In the background: Healthcode validates and collects the bill and the insurer pays it; the
    # worker fetches the remittance, posts the payment and refreshes the bill's status.
    assert admin.post("/_sandbox/clock/advance", json={"seconds": ADJUDICATED}).status_code == 200
    fetch_practice_remittances.enqueue(practice.pk)

    expect(page.locator("#hc-status")).to_contain_text("Collected", timeout=60_000)
    expect(page.locator("#invoice-badges")).to_contain_text("Paid")
    expect(history.filter(has_text="Collected")).not_to_have_count(0)
    assert history.count() > rows_before
    payments = page.locator("#invoice-payments")
    expect(payments).to_contain_text(re.compile(r"Remittance from .*BACS-BUP-"))
    expect(payments).to_contain_text("£180.00")
    expect(page.locator("#balance")).to_have_text("£0.00")
    expect(page.locator("#invoice-remittances")).to_contain_text("Paid")
    # A final status: the page stops asking.
    expect(page.locator("#invoice-live")).to_be_empty()
    assert len(navigations) == loads, navigations  # the page never reloaded
    screenshot(page, "background-4-invoice-collected-and-paid")
    assert console_errors == []
