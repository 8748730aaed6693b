"""A billing bureau's day: its biller, a member of three consultants' practices, works the
combined queue, submits the bills of two practices in one action (each reaches the clearing
house under that practice's own Healthcode site), opens a consultant's monthly report from the
practices panel and a practice's page; the consultant of one practice, logged in, sees only their
practice."""

import datetime as dt
import sqlite3

import pytest
from playwright.sync_api import expect

from e2e.conftest import IMMEDIATE_TASKS, demo_practice_on
from openpractice.home.management.commands.seed_demo import (
    BUREAU_PRACTICES,
    BUREAU_USER,
    DEMO_PASSWORD,
    DEMO_PRACTICE,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _received_by_site(sandbox) -> dict[str, list[str]]:
    """The invoice numbers the sandbox clearing house received, by the site that sent them."""
    from sandbox.db import database_path

    with sqlite3.connect(database_path(sandbox.data_dir)) as db:
        rows = db.execute("SELECT site_id, invoice_number FROM bills ORDER BY invoice_number").fetchall()
    found: dict[str, list[str]] = {}
    for site, number in rows:
        found.setdefault(site, []).append(number)
    return found


def test_a_bureau_works_three_practices_in_one_queue(
    page, live_server, login, screenshot, console_errors, sandbox, settings
):
    from openpractice.billing.money import format_gbp
    from openpractice.healthcode.services import test_connection
    from openpractice.healthcode.stored_checks import recheck_all
    from openpractice.home.management.commands.seed_demo import demo_insurer_bill, seed_bureau
    from openpractice.practices.models import Membership, Practice
    from openpractice.reports import consultant

    settings.TASKS = IMMEDIATE_TASKS  # each practice's bills are delivered as soon as they are queued
    demo = demo_practice_on(sandbox)
    seed_bureau(sandbox_url=sandbox.url)
    heart = Practice.objects.get(name=BUREAU_PRACTICES[0][0])  # the sandbox's second site
    eye = Practice.objects.get(name=BUREAU_PRACTICES[1][0])  # not connected to Healthcode yet
    assert test_connection(practice=heart).ok
    doctor = Membership.objects.get(practice=demo, user__email__startswith="dr.patel")
    for last_name in ("Bennett", "Clarke"):
        demo_insurer_bill(practice=demo, practitioner=doctor, last_name=last_name, day=dt.date.today())
    recheck_all(practice=demo)

    login(BUREAU_USER[0], DEMO_PASSWORD)
    page.get_by_role("link", name="Bureau", exact=True).click()
    expect(page.locator("h1")).to_have_text("Harbour Billing Bureau")
    expect(page.locator("#bureau-aged")).to_be_visible()

    # Not ready: the one bill dated ahead in each new practice, each row naming its practice.
    page.locator("nav.tabs").get_by_role("link", name="Not ready to submit").click()
    queue = page.locator("#bureau-queue")
    expect(queue).to_contain_text(heart.name)
    expect(queue).to_contain_text(eye.name)
    expect(queue).to_contain_text("Robinson")
    # Filtered to one practice: only its rows.
    page.get_by_label("Practice").last.select_option(label=eye.name)
    page.get_by_role("button", name="Filter").click()
    expect(queue.locator("tbody tr")).to_have_count(1)
    expect(queue).not_to_contain_text(heart.name)
    screenshot(page, "bureau-not-ready")

    # Ready: six bills of three practices; tick the demo practice's and the heart clinic's.
    page.goto(f"{live_server.url}/bureau/?kind=ready")
    expect(queue.locator("tbody tr")).to_have_count(6)
    for practice in (demo, heart):
        for box in queue.locator(f'tr[data-practice="{practice.pk}"] input[type=checkbox]').all():
            box.check()
    expect(page.get_by_role("button", name="Submit 4 selected to Healthcode")).to_be_visible()
    screenshot(page, "bureau-ready-selected")
    page.get_by_role("button", name="Submit 4 selected to Healthcode").click()
    expect(page.locator("#bulk-count")).to_have_text("4")
    expect(page.locator("#bureau-summary")).to_contain_text(demo.name)
    expect(page.locator("#bureau-summary")).to_contain_text(heart.name)
    expect(page.locator("#bureau-summary")).not_to_contain_text(eye.name)
    page.get_by_role("button", name="Send 4 bills to Healthcode").click()

    runs = page.locator("#run-table")
    for practice in (demo, heart):
        row = runs.locator(f'tr[data-practice="{practice.pk}"]')
        expect(row.locator("td.accepted")).to_have_text("2")
        expect(row).to_contain_text("Done")
    screenshot(page, "bureau-run")

    # Each practice's bills reached the clearing house under its own site: the demo practice's
    # numbers under the demo site, the heart clinic's (which start again at 1) under the second.
    received = _received_by_site(sandbox)
    assert sorted(received) == [sandbox.site_id, "HC99999"]
    assert len(received[sandbox.site_id]) == 2 and len(received["HC99999"]) == 2

    # Remittances fetched for every practice at once, each with its own connection; the practice
    # not connected yet is named with why.
    page.get_by_role("button", name="Back to the bureau").click()
    page.get_by_role("button", name="Fetch remittances for every practice").click()
    for practice in (demo, heart):
        expect(runs.locator(f'tr[data-practice="{practice.pk}"]')).to_contain_text("Done")
    expect(page.locator("#run-skipped")).to_contain_text(eye.name)
    screenshot(page, "bureau-fetch")

    # The practices panel: each consultant with their monthly report's state; "Monthly report"
    # opens the heart clinic's (last month's) in that practice, and this month's shows the two
    # bills just sent.
    page.get_by_role("button", name="Back to the bureau").click()
    panel = page.locator("#bureau-practices")
    for practice in (demo, heart, eye):
        expect(panel.locator(f'tr[data-practice="{practice.pk}"]')).to_contain_text(practice.name)
    heart_doctor = Membership.objects.get(practice=heart, user__email=BUREAU_PRACTICES[0][1][0]).user
    expect(panel.locator(f'tr[data-practice="{heart.pk}"]')).to_contain_text(heart_doctor.full_name)
    expect(panel.locator(f'tr[data-practice="{heart.pk}"]')).to_contain_text("Not saved")
    screenshot(page, "bureau-practices")
    panel.get_by_role("button", name=f"Monthly report of {heart.name}").click()
    this_month = consultant.month_start(dt.date.today())
    last_month = consultant.previous_month(this_month)
    expect(page.locator("#bureau-band")).to_contain_text(f"working in {heart.name}")
    expect(page.locator("h1")).to_have_text(f"Consultant report: {last_month:%B %Y}")
    last = consultant.figures(practice=heart, month=last_month)
    expect(page.locator("#kpi-billed")).to_have_text(format_gbp(last.billed_total))
    expect(page.locator("#kpi-net")).to_have_text(format_gbp(last.net))
    page.get_by_label("Month").select_option(f"{this_month:%Y-%m}")
    page.get_by_role("button", name="Show", exact=True).click()
    now = consultant.figures(practice=heart, month=this_month)
    assert now.billed_count >= 2  # the bills submitted above
    expect(page.locator("h1")).to_have_text(f"Consultant report: {this_month:%B %Y}")
    expect(page.locator("#kpi-billed")).to_have_text(format_gbp(now.billed_total))
    expect(page.locator("#billed-table tfoot")).to_contain_text(str(now.billed_count))
    expect(page.locator("main")).not_to_contain_text(eye.name)
    screenshot(page, "bureau-consultant-report")

    # Open a bill in its practice: the practice's own page, the header says where.
    page.goto(f"{live_server.url}/bureau/")
    page.locator("nav.tabs").get_by_role("link", name="Not ready to submit").click()
    queue.locator(f'tr[data-practice="{eye.pk}"] form.open-row button').click()
    expect(page.locator("#bureau-band")).to_contain_text(f"working in {eye.name}")
    expect(page.locator("main")).to_contain_text("Robinson")
    screenshot(page, "bureau-in-practice")
    assert console_errors == []

    # The heart clinic's consultant sees their practice alone.
    page.get_by_role("button", name="Log out").click()
    login(BUREAU_PRACTICES[0][1][0], DEMO_PASSWORD)
    page.goto(f"{live_server.url}/invoices/")
    expect(page.locator("aside")).to_contain_text(heart.name)
    expect(page.locator("body")).not_to_contain_text(DEMO_PRACTICE)
    expect(page.locator("body")).not_to_contain_text(eye.name)
    expect(page.get_by_role("link", name="Bureau", exact=True)).to_have_count(0)
    expect(page.locator("table.data tbody tr")).to_have_count(3)
    answer = page.goto(f"{live_server.url}/bureau/")
    assert answer.status == 403
    screenshot(page, "bureau-consultant")
