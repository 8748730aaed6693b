"""The chase rule (receivables/rules.py), pure: Hypothesis plays any schedule, any days and any
holds. No stage is ever sent twice for one debt; nothing paid, disputed, promised or written off
is chased; a debt only moves forward through the stages."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from openpractice.receivables.models import STAGE_ORDER
from openpractice.receivables.rules import Holds, next_stage
from openpractice.receivables.schedule import DEFAULT_STAGES

TODAY = dt.date(2026, 6, 1)
KEYS = list(STAGE_ORDER)


@st.composite
def schedules(draw):
    """The five stages, each on or off, days rising among those in use (as the schedule checks)."""
    days, stages = 0, []
    for default in DEFAULT_STAGES:
        days += draw(st.integers(min_value=0 if not stages else 1, max_value=40))
        stages.append(dataclasses.replace(default, days_overdue=days, enabled=draw(st.booleans())))
    return stages


holds = st.builds(
    Holds,
    paid=st.booleans(),
    disputed=st.booleans(),
    written_off=st.booleans(),
    promised_until=st.none()
    | st.dates(min_value=TODAY - dt.timedelta(days=60), max_value=TODAY + dt.timedelta(days=60)),
)


@settings(max_examples=300, deadline=None)
@given(stages=schedules(), start_overdue=st.integers(-30, 200), days=st.lists(st.integers(0, 30), max_size=25))
def test_following_the_rule_day_after_day_never_sends_a_stage_twice(stages, start_overdue, days):
    """Run the rule on a sequence of days, sending whatever it says each time."""
    sent: list[str] = []
    last_on = None
    today = TODAY
    overdue = start_overdue
    for step in days:
        today += dt.timedelta(days=step)
        overdue += step
        stage = next_stage(
            stages=stages, days_overdue=overdue, sent=sent, last_sent_on=last_on, holds=Holds(), today=today
        )
        if stage is not None:
            assert stage.enabled and overdue >= stage.days_overdue
            sent.append(stage.key)
            last_on = today
    assert len(sent) == len(set(sent))
    assert sent == sorted(sent, key=STAGE_ORDER.__getitem__)  # only forward


@settings(max_examples=300, deadline=None)
@given(
    stages=schedules(),
    overdue=st.integers(-30, 400),
    sent=st.sets(st.sampled_from(KEYS)),
    gap=st.none() | st.integers(0, 100),
    holding=holds,
)
def test_nothing_held_is_chased_and_nothing_sent_is_sent_again(stages, overdue, sent, gap, holding):
    last_on = None if gap is None or not sent else TODAY - dt.timedelta(days=gap)
    stage = next_stage(stages=stages, days_overdue=overdue, sent=sent, last_sent_on=last_on, holds=holding, today=TODAY)
    if holding.hold(TODAY):
        assert stage is None
    if stage is not None:
        assert stage.key not in sent
        assert all(STAGE_ORDER[stage.key] > STAGE_ORDER[k] for k in sent)


def test_a_promise_holds_until_its_date_then_the_chase_resumes():
    stages = list(DEFAULT_STAGES)
    promised = Holds(promised_until=TODAY)
    assert next_stage(stages=stages, days_overdue=20, sent=[], last_sent_on=None, holds=promised, today=TODAY) is None
    tomorrow = TODAY + dt.timedelta(days=1)
    stage = next_stage(stages=stages, days_overdue=21, sent=[], last_sent_on=None, holds=promised, today=tomorrow)
    assert stage is not None and stage.key == "statement"


def test_a_debt_found_late_gets_its_statement_then_reminders_spaced_by_the_schedule():
    stages = list(DEFAULT_STAGES)
    first = next_stage(stages=stages, days_overdue=60, sent=[], last_sent_on=None, holds=Holds(), today=TODAY)
    assert first is not None and first.key == "statement"
    soon = TODAY + dt.timedelta(days=13)
    assert (
        next_stage(stages=stages, days_overdue=73, sent=["statement"], last_sent_on=TODAY, holds=Holds(), today=soon)
        is None
    )
    later = TODAY + dt.timedelta(days=14)
    second = next_stage(
        stages=stages, days_overdue=74, sent=["statement"], last_sent_on=TODAY, holds=Holds(), today=later
    )
    assert second is not None and second.key == "reminder"


def test_a_stage_turned_off_is_passed_over():
    stages = [dataclasses.replace(s, enabled=s.key != "reminder") for s in DEFAULT_STAGES]
    stage = next_stage(
        stages=stages,
        days_overdue=30,
        sent=["statement"],
        last_sent_on=TODAY - dt.timedelta(days=30),
        holds=Holds(),
        today=TODAY,
    )
    assert stage is not None and stage.key == "second_reminder"
