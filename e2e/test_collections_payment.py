"""Must show (issue 16): a part-paid insurer bill's shortfall goes to the patient, the statement is
sent, the chase run sends a reminder once the clock moves on, the patient pays through the "Pay
online" link on the Stripe stub's checkout page (signed webhooks back to the app), the invoice is
paid and the chase stops."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from e2e.test_collections import _part_paid
from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD, DEMO_PRACTICE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stripe_stub(settings):
    from stripe_stub.testing import running_stub

    with running_stub() as stub:
        settings.STRIPE_API_BASE = stub.url
        yield stub


def _connect(practice, stub, live_server):
    from openpractice.card_payments import services

    integration = services.save_stripe_keys(
        practice=practice, publishable_key="pk_test_demo", secret_key="sk_test_demo_clinic"
    )
    hook = live_server.url + reverse("card_payments:webhook", kwargs={"key": integration.webhook_key})
    services.register_webhook_endpoint(practice=practice, url=hook)


def _send_run(page, live_server, day: dt.date, practice, stage: str):
    call_command("chase_run", "--now", "--today", day.isoformat(), "--practice", str(practice.pk))
    page.goto(f"{live_server.url}/collections/")
    page.get_by_role("link", name="Chase runs").click()
    page.get_by_role("link", name=f"{day.day} {day:%B %Y}").click()
    item = page.get_by_role("row", name=re.compile("Amelia Clarke"))
    expect(item).to_contain_text(stage)
    page.get_by_role("button", name="Send chase").click()
    expect(page.get_by_text(re.compile(r"Chase run sent: 1 email sent"))).to_be_visible()


def test_shortfall_chased_then_paid_online_and_the_chase_stops(
    page, live_server, login, screenshot, console_errors, stripe_stub
):
    from openpractice.billing.models import Invoice
    from openpractice.practices.models import Practice
    from openpractice.receivables.models import ChaseItem

    call_command("load_reference_codes")
    call_command("seed_demo", "--no-history")
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    _connect(practice, stripe_stub, live_server)
    patient = _part_paid(practice)
    login("billing@demo.openpractice.test", DEMO_PASSWORD)

    # The insurer's shortfall moves to the patient.
    page.goto(f"{live_server.url}/remittances/shortfalls/")
    page.get_by_role("row", name=re.compile("Amelia Clarke")).get_by_role("button", name="Move to patient").click()
    page.wait_for_load_state("networkidle")
    owed = Invoice.objects.get(patient=patient, bill_to="patient")

    # The biller emails the patient's statement: its "How to pay" names the Pay online link.
    page.goto(f"{live_server.url}/patients/{patient.pk}/account/")
    page.locator("#statement-send").click()
    expect(page.locator("#activity")).to_contain_text("Statement")
    assert len(mail.outbox) == 1 and "Online: http" in mail.outbox[0].body and "/pay/" in mail.outbox[0].body

    # Past its due date the chase's statement goes; a fortnight later, the reminder.
    statement_day = dt.date.today() + dt.timedelta(days=31)
    _send_run(page, live_server, statement_day, practice, "Statement")
    reminder_day = statement_day + dt.timedelta(days=14)
    _send_run(page, live_server, reminder_day, practice, "Reminder")
    assert len(mail.outbox) == 3 and mail.outbox[2].to == ["amelia.clarke@example.com"]
    assert "/pay/" in mail.outbox[2].body  # the reminder's {{ payment_link }}

    # The account carries the patient's "Pay online" link.
    page.goto(f"{live_server.url}/patients/{patient.pk}/account/")
    expect(page.locator("#activity")).to_contain_text("Reminder emailed")
    expect(page.locator("#account-balance")).to_have_text("£50.00")
    pay_link = page.locator("#patient-pay-link").get_attribute("href")
    assert pay_link and "/pay/" in pay_link

    # The patient opens the link (signed out: it is theirs, not the practice's) and pays by card.
    patient_page = page.context.browser.new_page()
    patient_page.goto(pay_link)
    expect(patient_page.get_by_role("heading", name=f"Pay {DEMO_PRACTICE}")).to_be_visible()
    expect(patient_page.locator("#pay-total")).to_have_text("£50.00")
    patient_page.get_by_role("button", name="Pay £50.00 by card").click()
    expect(patient_page.get_by_text("TEST MODE · Stripe stub")).to_be_visible()
    assert patient_page.url.startswith(stripe_stub.url + "/pay/cs_test_")
    patient_page.get_by_label("Card number").fill("4242 4242 4242 4242")
    patient_page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    patient_page.get_by_label("CVC").fill("123")
    patient_page.get_by_label("Name on card").fill("Amelia Clarke")
    screenshot(patient_page, "collections-payment-checkout")
    patient_page.get_by_role("button", name="Pay £50.00").click()
    expect(patient_page.locator("#payment-outcome")).to_contain_text("Your payment of £50.00")
    expect(patient_page.locator("#payment-outcome")).to_contain_text("is received")
    patient_page.close()

    # The invoice is paid, the account says how, and every webhook was answered 200 (signed).
    owed.refresh_from_db()
    assert owed.balance == 0 and owed.payment_outcome == "paid"
    assert stripe_stub.app.deliveries and {d.status for d in stripe_stub.app.deliveries} == {200}
    page.reload()
    expect(page.locator("#account-balance")).to_have_text("£0.00")
    expect(page.locator("#activity")).to_contain_text("Paid by card online")
    expect(page.locator("#card-payments")).to_contain_text(owed.number)
    screenshot(page, "collections-paid-online")

    # The chase stops: the second reminder's day comes and nothing is proposed for the paid bill.
    later = reminder_day + dt.timedelta(days=14)
    call_command("chase_run", "--now", "--today", later.isoformat(), "--practice", str(practice.pk))
    assert not ChaseItem.objects.filter(invoice=owed, run__run_on=later).exists()
    page.goto(f"{live_server.url}/collections/")
    expect(page.get_by_role("row", name=re.compile("Amelia Clarke"))).to_have_count(0)
    assert console_errors == []
