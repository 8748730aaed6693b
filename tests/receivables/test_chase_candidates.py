"""selectors.chase_candidates decides in SQL what rules.next_stage decides for one debt: a
property test plays any state of a handful of debts (due dates, payments, write-offs,
disputes, promises, stages sent and when) under any schedule and holds the two equal."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.billing.models import Invoice
from openpractice.receivables import selectors, services
from openpractice.receivables.models import STAGE_ORDER, AccountActivity, Debt
from openpractice.receivables.rules import Holds, next_stage
from openpractice.receivables.schedule import DEFAULT_STAGES

TODAY = dt.date.today()
KEYS = list(STAGE_ORDER)


@st.composite
def schedules(draw):
    days, stages = 0, []
    for default in DEFAULT_STAGES:
        days += draw(st.integers(min_value=0 if not stages else 1, max_value=30))
        stages.append(dataclasses.replace(default, days_overdue=days, enabled=draw(st.booleans())))
    return stages


debt_states = st.fixed_dictionaries(
    {
        "overdue": st.integers(-10, 150),
        "paid": st.booleans(),
        "part_paid": st.booleans(),
        "written_off": st.booleans(),
        "disputed": st.booleans(),
        "promised": st.none() | st.integers(-5, 5),
        "sent": st.sets(st.sampled_from(KEYS), max_size=3),
        "sent_days_ago": st.integers(0, 60),
    }
)


@pytest.fixture
def pool(world, debts):
    return [debts.self_pay("Consultation") for _ in range(5)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stages=schedules(), states=st.lists(debt_states, min_size=5, max_size=5))
def test_the_sql_agrees_with_the_rule(world, pool, stages, states):
    services.save_chase_schedule(practice=world.practice, stages=stages)
    AccountActivity.objects.filter(practice=world.practice).delete()
    Debt.objects.filter(practice=world.practice).delete()
    expected = {}
    for invoice, state in zip(pool, states):
        total = invoice.total
        paid = total if state["paid"] else (Decimal("10.00") if state["part_paid"] else Decimal("0.00"))
        written_off = Decimal("5.00") if state["written_off"] and paid < total else Decimal("0.00")
        due = TODAY - dt.timedelta(days=state["overdue"])
        Invoice.objects.filter(pk=invoice.pk).update(
            due_date=due, paid_total=paid, written_off_total=written_off, payment_outcome="unpaid"
        )
        promised = None if state["promised"] is None else TODAY + dt.timedelta(days=state["promised"])
        if state["disputed"] or promised:
            Debt.objects.create(
                practice=world.practice, invoice=invoice, disputed=state["disputed"], promised_until=promised
            )
        sent_on = TODAY - dt.timedelta(days=state["sent_days_ago"])
        for key in state["sent"]:
            AccountActivity.objects.create(
                practice=world.practice,
                patient=world.patient,
                invoice=invoice,
                kind="chase_sent",
                stage=key,
                channel="letter",
                on_date=sent_on,
            )
        holds = Holds(
            paid=paid >= total,
            disputed=state["disputed"],
            written_off=written_off > 0,
            promised_until=promised,
        )
        stage = next_stage(
            stages=stages,
            days_overdue=state["overdue"],
            sent=state["sent"],
            last_sent_on=sent_on if state["sent"] else None,
            holds=holds,
            today=TODAY,
        )
        if stage is not None:
            expected[invoice.pk] = stage.key
    found = selectors.chase_candidates(practice=world.practice, today=TODAY, invoice_ids=[i.pk for i in pool])
    assert {c.invoice_id: c.stage for c in found} == expected
