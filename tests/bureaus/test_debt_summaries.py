"""Aged debt by practice, kept (bureaus.debt_summaries): the kept count equals a fresh count when
made; it is made in the request for a practice never counted or counted before today; an older
count is shown with its time and counted again by the worker, once per window; "Count again now"
counts in the request."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from openpractice.billing import services as billing
from openpractice.billing.models import OWES, BillTo, Invoice, RecordStatus
from openpractice.bureaus import debt_summaries, selectors, services
from openpractice.bureaus.models import PracticeDebtSummary
from openpractice.bureaus.selectors import Filters
from openpractice.practices.roles import Role
from tests.bureaus.world import bureau_user
from tests.list_world import TODAY

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_queued_marks():
    cache.clear()  # "queued in the last two minutes" marks are kept in the cache
    yield
    cache.clear()


def _space(world):
    return selectors.workspace(user=bureau_user(world, {0: Role.OWNER, 1: Role.BILLING, 2: Role.PRACTITIONER}))


def _lines(report):
    return [(r.practice_id, r.buckets, r.total, r.invoices) for r in report.rows]


def test_the_first_view_counts_and_keeps_what_a_fresh_count_says(world):
    space = _space(world)
    assert not PracticeDebtSummary.objects.exists()
    shown = services.aged_debt_for(space=space, today=TODAY)
    assert shown.rows and shown.counted_at is not None
    assert _lines(shown) == _lines(selectors.aged_debt(space=space, today=TODAY))
    # every practice counted has its patients' row, so a practice owing nothing is not "never counted"
    assert set(PracticeDebtSummary.objects.filter(bill_to=BillTo.PATIENT).values_list("practice_id", flat=True)) == {
        p.pk for p in world.practices
    }
    for insurer in ("bup", "zzz"):
        filters = Filters(insurer=insurer)
        kept = services.aged_debt_for(space=space, filters=filters, today=TODAY)
        assert _lines(kept) == _lines(selectors.aged_debt(space=space, filters=filters, today=TODAY)), insurer


def test_a_kept_count_is_read_in_one_query(world, django_assert_num_queries):
    space = _space(world)
    debt_summaries.refresh(practice_ids=[p.pk for p in world.practices], today=TODAY)
    with django_assert_num_queries(1):
        found = debt_summaries.kept(practice_ids=[p.pk for p in world.practices], today=TODAY)
    assert not found.missing and not found.stale
    with django_assert_num_queries(1):
        services.aged_debt_for(space=space, today=TODAY)


def _a_patient_debt(practice) -> Invoice:
    return (
        Invoice.objects.filter(practice=practice, bill_to=BillTo.PATIENT, record_status=RecordStatus.ISSUED)
        .filter(OWES)
        .order_by("pk")
        .first()
    )


def test_a_payment_shows_once_the_worker_counts_again(world, django_capture_on_commit_callbacks, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "healthcode"]}}
    space = _space(world)
    before = services.aged_debt_for(space=space, today=TODAY)
    debt = _a_patient_debt(world.practices[0])
    billing.record_payment(invoice=debt, amount=Decimal("1.00"), received_on=TODAY)
    fresh = selectors.aged_debt(space=space, today=TODAY)
    assert fresh.total == before.total - Decimal("1.00")

    # within two minutes the kept count is shown as it was, and nothing is queued
    assert services.aged_debt_for(space=space, today=TODAY).total == before.total

    # older than that: shown with its time, and one fresh count queued for those practices
    old = timezone.now() - dt.timedelta(seconds=debt_summaries.FRESH_SECONDS + 5)
    PracticeDebtSummary.objects.update(counted_at=old)
    with django_capture_on_commit_callbacks(execute=True):
        shown = services.aged_debt_for(space=space, today=TODAY)
        services.aged_debt_for(space=space, today=TODAY)  # opened again: not queued twice
    assert shown.total == before.total and shown.counted_at == old
    queued = [row.args_kwargs["args"][0] for row in DBTaskResult.objects.filter(task_path__contains="refresh_debt")]
    assert [sorted(ids) for ids in queued] == [sorted(p.pk for p in world.practices)]

    # the worker's task counts them again (as of the real today): the payment shows
    assert debt_summaries.refresh_debt_summaries.call(queued[0]) == len(world.practices)
    now = services.aged_debt_for(space=space)
    assert now.counted_at > old
    assert _lines(now) == _lines(selectors.aged_debt(space=space))


def test_a_count_made_before_today_is_never_shown(world):
    space = _space(world)
    yesterday = TODAY - dt.timedelta(days=1)
    debt_summaries.refresh(practice_ids=[p.pk for p in world.practices], today=yesterday)
    shown = services.aged_debt_for(space=space, today=TODAY)
    assert _lines(shown) == _lines(selectors.aged_debt(space=space, today=TODAY))
    assert set(PracticeDebtSummary.objects.values_list("as_of", flat=True)) == {TODAY}


def test_counting_twice_replaces_the_count(world):
    ids = [p.pk for p in world.practices]
    debt_summaries.refresh(practice_ids=ids, today=TODAY)
    rows = PracticeDebtSummary.objects.count()
    assert debt_summaries.refresh(practice_ids=ids + ids, today=TODAY) == len(world.practices)
    assert PracticeDebtSummary.objects.count() == rows


def test_one_practice_alone_is_counted_afresh(world):
    space = _space(world)
    services.aged_debt_for(space=space, today=TODAY)
    debt = _a_patient_debt(world.practices[1])
    billing.record_payment(invoice=debt, amount=Decimal("2.00"), received_on=TODAY)
    one = Filters(practice_id=world.practices[1].pk)
    shown = services.aged_debt_for(space=space, filters=one, today=TODAY)
    assert shown.counted_at is None  # counted just now
    assert _lines(shown) == _lines(selectors.aged_debt(space=space, filters=one, today=TODAY))


def test_count_again_now_on_the_page(world):
    user = bureau_user(world, {0: Role.OWNER, 1: Role.OWNER}, email="counter@bureau.test")
    space = selectors.workspace(user=user)
    client = Client()
    client.force_login(user)
    page = client.get("/bureau/?kind=debts").content.decode()
    assert 'id="aged-counted-at"' in page and "Count again now" in page
    PracticeDebtSummary.objects.update(counted_at=timezone.now() - dt.timedelta(hours=1))
    debt = _a_patient_debt(world.practices[0])
    billing.record_payment(invoice=debt, amount=Decimal("3.00"), received_on=TODAY)
    answer = client.post("/bureau/aged-debt/count/", {"next": "/bureau/?kind=debts"}, follow=True)
    assert answer.redirect_chain[-1][0] == "/bureau/?kind=debts"
    assert "counted again" in answer.content.decode()
    fresh = selectors.aged_debt(space=space)
    assert f"£{fresh.total:,.2f}" in answer.content.decode()
    assert services.aged_debt_for(space=space).counted_at > timezone.now() - dt.timedelta(minutes=1)


def test_counting_again_needs_a_post_and_bureau_staff(world):
    client = Client()
    client.force_login(world.worlds[0].user)  # a practice's own owner, not bureau staff
    assert client.post("/bureau/aged-debt/count/").status_code == 403
    staff = bureau_user(world, {0: Role.OWNER}, email="getter@bureau.test")
    client.force_login(staff)
    assert client.get("/bureau/aged-debt/count/").status_code == 405
