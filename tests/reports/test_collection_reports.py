"""Collections reports against the ledger they sum: collection rate (collected over billed, for
patients and insurers; a shortfall moved to the patient is not money collected from the
insurer), debtor days, patient debt by chase stage, write-offs by month and the write-off CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

sys.path.insert(0, str(Path(__file__).parent.parent / "remittances"))
sys.path.insert(0, str(Path(__file__).parent.parent / "receivables"))

from debts import Debts  # noqa: E402
from remit_helpers import World, bundle, receive  # noqa: E402

from openpractice.receivables import services as receivables  # noqa: E402
from openpractice.reports import collections  # noqa: E402

TODAY = dt.date.today()
YEAR = (TODAY - dt.timedelta(days=365), TODAY)


@pytest.fixture
def world(practice, make_member, insurer_contact):
    return World(practice, make_member, insurer_contact)


@pytest.fixture
def debts(world):
    return Debts(world)


def _by_payer(rows):
    return {r.payer: r for r in rows}


def test_collection_rate_for_patients_and_insurers(world, debts):
    paid_bill = debts.self_pay("Consultation")  # 180.00
    debts.pay(paid_bill, "180.00")
    debts.self_pay("Follow-up")  # 120.50 unpaid
    part = world.invoice("Scan")  # 250.00 to the insurer
    batch = receive(world.practice, bundle([{"invoice": part, "paid": ["200.00"]}]))
    from openpractice.remittances import services as remittances

    shortfall = remittances.transfer_shortfall(line=batch.lines.get())  # 50.00 to the patient
    rates = _by_payer(collections.collection_rate(practice=world.practice, start=YEAR[0], end=YEAR[1]))
    insurer, patient = rates["insurer"], rates["patient"]
    assert (insurer.billed, insurer.collected, insurer.moved, insurer.owed) == (
        Decimal("250.00"),
        Decimal("200.00"),
        Decimal("50.00"),
        Decimal("0.00"),
    )
    assert insurer.rate == Decimal("80.0")
    assert patient.billed == Decimal("180.00") + Decimal("120.50") + shortfall.total
    assert patient.collected == Decimal("180.00")
    assert patient.rate == (Decimal("180.00") / patient.billed * 100).quantize(Decimal("0.1"))
    # Outside the period: nothing billed, no rate.
    empty = collections.collection_rate(practice=world.practice, start=dt.date(2000, 1, 1), end=dt.date(2000, 12, 31))
    assert all(r.billed == 0 and r.rate is None for r in empty)


def test_debtor_days(world, debts):
    debts.self_pay("Consultation")  # 180.00 owed, billed today
    old = debts.age(debts.self_pay("Follow-up"), 200)  # 120.50 owed, billed long ago
    assert old.balance == Decimal("120.50")
    days = _by_payer(collections.debtor_days(practice=world.practice, days=90))["patient"]
    assert (days.owed, days.billed) == (Decimal("300.50"), Decimal("180.00"))
    assert days.debtor_days == (Decimal("300.50") / Decimal("180.00") * 90).quantize(Decimal("0.1"))
    assert _by_payer(collections.debtor_days(practice=world.practice))["insurer"].debtor_days is None


def test_patient_debt_by_chase_stage(world, debts, biller):
    chased = debts.age(debts.self_pay("Consultation"), 20)
    debts.self_pay("Follow-up", invoice_date=TODAY + dt.timedelta(days=5))  # not due: not chased
    run = receivables.create_chase_run(practice=world.practice)
    receivables.send_chase_run(run=run, include=[i.pk for i in run.items.all()], user=biller)
    receivables.dispute_debt(invoice=chased, reason="Says it was paid", by=biller)
    stages = {s.key: s for s in collections.debt_by_stage(practice=world.practice)}
    assert stages["statement"].debts == 1 and stages["statement"].owed == Decimal("180.00")
    assert stages["statement"].on_hold == 1
    assert stages["not_chased"].debts == 1 and stages["not_chased"].owed == Decimal("120.50")
    assert sum(s.debts for s in stages.values()) == 2


def test_write_offs_by_month_and_the_csv(world, debts, biller, owner, client_for):
    bill = debts.age(debts.self_pay("Consultation"), 40)
    asked = receivables.request_write_off(invoice=bill, amount="30.00", reason="Hardship", by=biller)
    entry = receivables.approve_write_off(write_off=asked, by=owner)
    receivables.reverse_write_off(entry=entry, reason="Paid after all", by=owner)
    asked = receivables.request_write_off(invoice=bill, amount="20.00", reason="Small balance", by=biller)
    receivables.approve_write_off(write_off=asked, by=owner)
    (month,) = collections.write_offs_by_month(practice=world.practice, start=YEAR[0], end=YEAR[1])
    assert (month.entries, month.written_off, month.reversed, month.net) == (
        3,
        Decimal("50.00"),
        Decimal("-30.00"),
        Decimal("20.00"),
    )
    client = client_for(owner)
    html = client.get(reverse("reports:write_offs")).content.decode()
    assert "£50.00" in html and "£20.00" in html
    response = client.get(reverse("reports:write_offs") + "?format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == collections.EXPORT_HEADER
    assert [r[5] for r in rows[1:]] == ["30.00", "-30.00", "20.00"]
    assert rows[1][1] == bill.number and rows[1][7] == "Hardship" and rows[2][6]


def test_the_collection_page(world, debts, owner, client_for):
    debts.pay(debts.self_pay("Consultation"), "180.00")
    client = client_for(owner)
    html = client.get(reverse("reports:collection")).content.decode()
    assert "100.0%" in html and "Patient debt by chase stage" in html
    html = client.get(reverse("reports:collection") + "?start=nonsense&days=7").content.decode()
    assert "could not be read" in html


def test_another_practices_figures_are_not_counted(world, debts, other_practice):
    debts.self_pay("Consultation")
    assert all(r.billed == 0 for r in collections.collection_rate(practice=other_practice, start=YEAR[0], end=YEAR[1]))
