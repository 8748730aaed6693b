"""rules.result_changes_on, the day a stored check is due again by the calendar alone: on every day
before it, the pre-submission check gives the same answer as on the day it was stored."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from openpractice.healthcode import rules

DAY = dt.date(2026, 6, 15)
dates = st.one_of(st.none(), st.dates(min_value=DAY - dt.timedelta(days=800), max_value=DAY + dt.timedelta(days=60)))


class LimitedKnowledge(rules.Knowledge):
    def __init__(self, months):
        self.months = months

    def insurer(self, identifier: str) -> rules.InsurerFacts:
        return rules.InsurerFacts(time_limit_months=self.months)


def _bill(service_dates) -> rules.BillFacts:
    lines = tuple(
        rules.LineFacts(n, day, 1, Decimal("100.00"), Decimal("100.00"), "", "W8500")
        for n, day in enumerate(service_dates, 1)
    )
    return rules.BillFacts(
        invoice_id=1,
        invoice_number="INV000001",
        is_insurer_bill=True,
        is_void=False,
        insurer_identifier="bup",
        insurer_name="Bupa",
        setting="O",
        admission_date=None,
        membership_number="10000001",
        auth_code="",
        patient_first_name="Oliver",
        patient_last_name="Bennett",
        patient_date_of_birth=dt.date(1980, 4, 12),
        patient_postcode="SW1A 1AA",
        provider_number="12345678",
        provider_is_location=False,
        payee_number="12345678",
        payee_is_location=False,
        facility_chosen=False,
        location_number="",
        diagnoses=("M17.1",),
        lines=lines,
    )


def _answer(bill, knowledge, today):
    return sorted((p.rule, p.line or 0) for p in rules.check_bill(bill, knowledge, today))


@settings(max_examples=150, deadline=None)
@given(
    service_dates=st.lists(dates, min_size=1, max_size=3),
    months=st.one_of(st.none(), st.integers(min_value=1, max_value=24)),
    offsets=st.lists(st.integers(min_value=0, max_value=900), min_size=1, max_size=8),
)
def test_the_check_holds_until_the_recheck_day(service_dates, months, offsets):
    bill, knowledge = _bill(service_dates), LimitedKnowledge(months)
    changes_on = rules.result_changes_on(bill, knowledge.insurer("bup"), DAY)
    assert changes_on is None or changes_on > DAY
    stored = _answer(bill, knowledge, DAY)
    last = (changes_on or DAY + dt.timedelta(days=901)) - dt.timedelta(days=1)
    for day in {DAY, last, *(DAY + dt.timedelta(days=n) for n in offsets)}:
        if day <= last:
            assert _answer(bill, knowledge, day) == stored, day
