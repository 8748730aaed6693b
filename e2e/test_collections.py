"""Must show (collections, first slice): an insurer part-pays a bill and the biller moves the
shortfall to the patient; the patient's account shows it; once the clock moves past its due date
the chase run proposes a statement; the biller reviews and sends it; the account's activity shows
the send (and the email went)."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import expect

from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD, DEMO_PRACTICE, _shortfall_remittance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _part_paid(practice):
    """Amelia Clarke's Bupa bill (180.00) part-paid by a posted remittance: 130.00, "Policy excess applies"."""
    from openpractice.billing import services as billing
    from openpractice.patients.models import Patient
    from openpractice.practices.models import Membership
    from openpractice.products.models import Product
    from openpractice.remittances import services as remittances

    patient = Patient.objects.get(practice=practice, last_name="Clarke")
    insurance = next(r for r in patient.relationships.all() if r.relationship_type == "insurance")
    doctor = Membership.objects.get(practice=practice, user__email__startswith="dr.patel")
    day = dt.date.today()
    invoice = billing.issue_invoice(
        invoice=billing.create_invoice(
            practice=practice,
            data={
                "bill_to": "insurer",
                "patient": patient,
                "insurance": insurance,
                "practitioner": doctor,
                "invoice_date": day,
                "primary_diagnosis": "M17.1",
            },
            lines=[
                {
                    "product": Product.objects.get(practice=practice, name="Initial consultation"),
                    "service_date": day,
                    "quantity": 1,
                }
            ],
        )
    )
    body = _shortfall_remittance(invoice, "bup", "10000002", Decimal("130.00"), "Policy excess applies", day)
    batch, _ = remittances.store_batch(
        practice=practice, source="clearing_house", external_id=body["id"], raw_payload=json.dumps(body)
    )
    remittances.post_batch(batch_id=batch.pk)
    return patient


def test_shortfall_to_account_chase_run_send_and_activity(page, live_server, login, screenshot, console_errors):
    from openpractice.practices.models import Practice

    call_command("load_reference_codes")
    call_command("seed_demo", "--no-history")
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    patient = _part_paid(practice)
    login("billing@demo.openpractice.test", DEMO_PASSWORD)

    # The shortfall moves to the patient.
    page.goto(f"{live_server.url}/remittances/shortfalls/")
    row = page.get_by_role("row", name=re.compile("Amelia Clarke"))
    expect(row).to_contain_text("£50.00")
    row.get_by_role("button", name="Move to patient").click()
    page.wait_for_load_state("networkidle")

    # The patient's page links to the account, which shows the excess owed.
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    expect(page.get_by_text("Owes £50.00")).to_be_visible()
    page.get_by_role("link", name="View account").click()
    expect(page.get_by_role("heading", name="Amelia Clarke: account")).to_be_visible()
    expect(page.locator("#account-balance")).to_have_text("£50.00")
    expect(page.get_by_role("row", name=re.compile("Excess"))).to_contain_text("£50.00")
    expect(page.locator("#activity")).to_have_count(0)  # nothing sent yet

    # The clock moves past the due date (30 days): the daily run proposes the statement.
    later = dt.date.today() + dt.timedelta(days=31)
    call_command("chase_run", "--now", "--today", later.isoformat(), "--practice", str(practice.pk))
    page.goto(f"{live_server.url}/collections/")
    expect(page.get_by_role("row", name=re.compile("Amelia Clarke"))).to_contain_text("Statement")
    page.get_by_role("link", name="Chase runs").click()
    page.get_by_role("link", name=f"{later.day} {later:%B %Y}").click()
    item = page.get_by_role("row", name=re.compile("Amelia Clarke"))
    expect(item).to_contain_text("Statement")
    expect(item.get_by_role("checkbox")).to_be_checked()
    screenshot(page, "collections-run-review")
    page.get_by_role("button", name="Send chase").click()
    expect(page.get_by_text("Chase run sent: 1 email sent, 0 letters to print.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Amelia Clarke"))).to_contain_text("Emailed")

    # The account's activity shows the send, and the email went to the patient.
    page.get_by_role("link", name="Amelia Clarke").click()
    expect(page.locator("#activity")).to_contain_text("Statement emailed")
    assert [m.to for m in mail.outbox] == [["amelia.clarke@example.com"]]
    assert "£50.00" in mail.outbox[0].body
    screenshot(page, "collections-account-activity")
    assert console_errors == []
