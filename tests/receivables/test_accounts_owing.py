"""Accounts owing: patients with a balance, the longest overdue first, paged in fixed queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openpractice.patients import services as patients
from openpractice.receivables import selectors


def _patient(world, last):
    return patients.create_patient(
        practice=world.practice, data={"first_name": "Ann", "last_name": last, "date_of_birth": dt.date(1970, 1, 1)}
    )


def test_patients_with_a_balance_oldest_debt_first(world, debts):
    recent = _patient(world, "Recent")
    old = _patient(world, "Old")
    settled = _patient(world, "Settled")
    debts.self_pay("Consultation", patient=recent)
    debts.age(debts.self_pay("Follow-up", patient=old), 50)
    debts.self_pay("Scan", patient=old)
    debts.pay(debts.self_pay("Consultation", patient=settled), "180.00")
    page = selectors.accounts_owing(practice=world.practice)
    assert [r.name for r in page.rows] == ["Ann Old", "Ann Recent"]
    old_row = page.rows[0]
    assert old_row.balance == Decimal("370.50") and old_row.invoices == 2 and old_row.days_overdue == 50
    assert page.count == 2 and page.total == Decimal("550.50")


def test_a_patient_in_credit_overall_is_not_listed(world, debts):
    from openpractice.billing.models import Invoice

    debts.self_pay("Follow-up")  # 120.50
    over = debts.self_pay("Consultation")
    Invoice.objects.filter(pk=over.pk).update(paid_total=Decimal("400.00"))  # 220.00 credit
    assert selectors.accounts_owing(practice=world.practice).rows == []


def test_paging_in_fixed_queries(world, debts, monkeypatch):
    monkeypatch.setattr(selectors, "ACCOUNTS_PER_PAGE", 2)
    for n in range(5):
        debts.age(debts.self_pay("Consultation", patient=_patient(world, f"P{n}")), 10 + n)
    with CaptureQueriesContext(connection) as queries:
        first = selectors.accounts_owing(practice=world.practice, page=1)
    last = selectors.accounts_owing(practice=world.practice, page=3)
    assert len(queries) == 2
    assert first.pages == 3 and [r.name for r in first.rows] == ["Ann P4", "Ann P3"]
    assert [r.name for r in last.rows] == ["Ann P0"] and not last.has_next
    assert selectors.accounts_owing(practice=world.practice, page=99).number == 3


def test_the_page_lists_accounts_and_is_practice_scoped(client_for, world, debts, biller, other_owner):
    debts.self_pay("Consultation")
    body = client_for(biller).get(reverse("receivables:accounts")).content.decode()
    assert "Oliver Bennett" in body and "£180.00" in body
    other = client_for(other_owner).get(reverse("receivables:accounts")).content.decode()
    assert "Oliver Bennett" not in other and "No patient owes anything" in other


def test_a_bad_page_number_is_the_first_page(client_for, world, biller):
    assert client_for(biller).get(reverse("receivables:accounts") + "?page=x").status_code == 200
