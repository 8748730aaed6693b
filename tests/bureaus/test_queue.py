"""The combined queue's reads: rows from the practices where the person's role allows that kind,
each naming its practice; filters that only narrow; keyset pages that add up to the whole."""

from __future__ import annotations

import pytest

from openpractice.billing.models import HealthcodeStatus, Invoice, RecordStatus
from openpractice.bureaus import selectors, services
from openpractice.bureaus.selectors import Filters, Kind
from openpractice.practices.models import Membership, Practice
from openpractice.practices.roles import Role
from openpractice.remittances.models import LineStatus, RemittanceLine
from openpractice.reports import selectors as reports
from tests.bureaus.world import bureau_user
from tests.list_world import TODAY

pytestmark = pytest.mark.django_db


def _all(space, kind, filters=None, limit=7):
    rows, after = [], ""
    while True:
        page = selectors.queue_page(space=space, kind=kind, filters=filters, after=after, limit=limit, today=TODAY)
        rows += page.rows
        if not page.next_cursor:
            return rows
        after = page.next_cursor


def test_the_workspace_is_the_bureaus_practices_the_person_is_an_active_member_of(world):
    user = bureau_user(world, {0: Role.BILLING, 1: Role.OWNER})
    outside = Practice.objects.create(name="Not The Bureau's")
    Membership.objects.create(user=user, practice=outside, role=Role.OWNER)
    Membership.objects.filter(user=user, practice=world.practices[1]).update(is_active=False)
    space = selectors.workspace(user=user)
    assert space.bureau == world.bureau
    assert [m.practice for m in space.memberships] == [world.practices[0]]


def test_someone_not_on_the_staff_has_no_workspace(world):
    member = world.worlds[0].user  # the practice's own owner
    assert selectors.staff_of(user=member) is None
    assert selectors.workspace(user=member).memberships == []


def test_failed_bills_come_from_every_practice_where_the_person_may_bill(world):
    user = bureau_user(world, {0: Role.BILLING, 1: Role.OWNER, 2: Role.PRACTITIONER})
    space = selectors.workspace(user=user)
    rows = _all(space, Kind.FAILED)
    expected = set(
        Invoice.objects.filter(practice__in=world.practices[:2], healthcode_status=HealthcodeStatus.FAILED)
        .exclude(record_status=RecordStatus.VOID)
        .values_list("pk", flat=True)
    )
    assert {r.key for r in rows} == expected and len(rows) == len(expected)
    assert {r.practice for r in rows} == {world.practices[0].name, world.practices[1].name}
    # A practitioner in the third practice may not bill there: none of its bills, yet its aged debt shows.
    assert world.practices[2].pk in {d.practice_id for d in selectors.aged_debt(space=space, today=TODAY).rows}


def test_pages_follow_each_other_newest_first_without_gaps_or_repeats(world):
    space = selectors.workspace(user=bureau_user(world, {0: Role.OWNER, 1: Role.OWNER, 2: Role.OWNER}))
    for kind in Kind.ALL:
        paged = _all(space, kind, limit=3)
        whole = selectors.queue_page(space=space, kind=kind, limit=10_000, today=TODAY).rows
        assert [r.key for r in paged] == [r.key for r in whole], kind


def test_a_filter_by_practice_only_narrows(world):
    user = bureau_user(world, {0: Role.OWNER, 1: Role.OWNER})
    space = selectors.workspace(user=user)
    one = _all(space, Kind.FAILED, Filters(practice_id=world.practices[1].pk))
    assert one and {r.practice_id for r in one} == {world.practices[1].pk}
    # Not a member of the third: asking for it shows nothing, never its rows.
    for kind in Kind.ALL:
        assert _all(space, kind, Filters(practice_id=world.practices[2].pk)) == []
    assert selectors.aged_debt(space=space, filters=Filters(practice_id=world.practices[2].pk)).rows == []


def test_filters_by_insurer_and_age(world):
    space = selectors.workspace(user=bureau_user(world, {0: Role.OWNER, 1: Role.OWNER, 2: Role.OWNER}))
    bupa = _all(space, Kind.FAILED, Filters(insurer="bup"))
    assert bupa and all(r.insurer == "Bupa" for r in bupa)
    assert len(bupa) < len(_all(space, Kind.FAILED))
    young = _all(space, Kind.FAILED, Filters(age="0-30"))
    assert young and all((TODAY - r.on).days <= 30 for r in young)


def test_each_kind_lists_what_the_practices_own_pages_list(world):
    space = selectors.workspace(user=bureau_user(world, {0: Role.OWNER, 1: Role.BILLING}))
    practices = world.practices[:2]
    lines = _all(space, Kind.REMITTANCES)
    assert {r.key for r in lines} == set(
        RemittanceLine.objects.filter(practice__in=practices, status=LineStatus.REVIEW).values_list("pk", flat=True)
    )
    debts = _all(space, Kind.DEBTS)
    assert debts and all(r.amount > 0 for r in debts)
    assert [r.on for r in debts] == sorted(r.on for r in debts)  # oldest due first
    not_ready = _all(space, Kind.NOT_READY)
    ready = _all(space, Kind.READY)
    assert not_ready and ":" in not_ready[0].detail  # the check's reasons
    assert not {r.key for r in not_ready} & {r.key for r in ready}


def test_patient_debts_need_the_collections_capability(world):
    space = selectors.workspace(user=bureau_user(world, {0: Role.OWNER, 1: Role.RECEPTIONIST}))
    assert {r.practice_id for r in _all(space, Kind.DEBTS)} == {world.practices[0].pk}
    assert selectors.counts(space=space, today=TODAY)[Kind.DEBTS] == len(_all(space, Kind.DEBTS))


def test_aged_debt_per_practice_is_the_practices_own_report(world):
    space = selectors.workspace(user=bureau_user(world, {0: Role.OWNER, 1: Role.OWNER, 2: Role.OWNER}))
    combined = {r.practice_id: r for r in selectors.aged_debt(space=space, today=TODAY).rows}
    for practice in world.practices:
        insurers = reports.aged_debt(practice=practice, by="insurer", today=TODAY, page_size=0)
        patients = reports.aged_debt(practice=practice, by="patient", today=TODAY, page_size=0)
        row = combined[practice.pk]
        assert row.buckets == [a + b for a, b in zip(insurers.totals, patients.totals, strict=True)]
        assert row.total == insurers.total + patients.total


def test_a_bad_cursor_shows_the_first_page(world):
    space = selectors.workspace(user=bureau_user(world, {0: Role.OWNER}))
    for kind in Kind.ALL:
        page = selectors.queue_page(space=space, kind=kind, after="nonsense", today=TODAY)
        assert page.bad_cursor
        assert page.rows == selectors.queue_page(space=space, kind=kind, today=TODAY).rows


def test_submitting_across_practices_hands_each_practice_its_own_bills(world, monkeypatch):
    user = bureau_user(world, {0: Role.BILLING, 1: Role.OWNER, 2: Role.PRACTITIONER})
    space = selectors.workspace(user=user)
    calls = []

    def submit_many(*, practice, invoice_ids, user):
        from openpractice.healthcode.models import BulkSubmission

        calls.append((practice.pk, sorted(invoice_ids)))
        return BulkSubmission.objects.create(practice=practice, created_by=user, requested=len(invoice_ids))

    monkeypatch.setattr(services.hc, "submit_many", submit_many)
    monkeypatch.setattr(services.connection, "require_tested", lambda practice: None)
    bills = {p.pk: list(Invoice.objects.filter(practice=p).values_list("pk", flat=True)[:2]) for p in world.practices}
    chosen = [pk for ids in bills.values() for pk in ids]
    run = services.submit_across(space=space, user=user, invoice_ids=chosen)
    assert sorted(calls) == [(p.pk, sorted(bills[p.pk])) for p in world.practices[:2]]
    assert run.submissions.count() == 2 and run.requested == 6


def test_a_practice_without_a_tested_connection_is_skipped_saying_so(world):
    user = bureau_user(world, {0: Role.BILLING})
    space = selectors.workspace(user=user)
    ids = list(Invoice.objects.filter(practice=world.practices[0]).values_list("pk", flat=True)[:2])
    run = services.submit_across(space=space, user=user, invoice_ids=ids)
    assert run.submissions.count() == 0
    assert [s["practice"] for s in run.skipped] == [world.practices[0].name]
    fetch = services.fetch_across(space=space, user=user)
    assert fetch.fetches.count() == 0 and fetch.skipped[0]["practice_id"] == world.practices[0].pk


def test_nothing_of_practices_one_may_not_bill_in_can_be_submitted(world):
    user = bureau_user(world, {0: Role.PRACTITIONER})
    space = selectors.workspace(user=user)
    ids = list(Invoice.objects.filter(practice=world.practices[0]).values_list("pk", flat=True)[:2])
    with pytest.raises(services.BureauError) as refused:
        services.submit_across(space=space, user=user, invoice_ids=ids)
    assert refused.value.code == "nothing_chosen"


def test_fetching_across_practices_queues_one_fetch_per_practice(world, monkeypatch):
    user = bureau_user(world, {0: Role.BILLING, 1: Role.OWNER, 2: Role.RECEPTIONIST})
    monkeypatch.setattr(services.connection, "require_tested", lambda practice: None)
    run = services.fetch_across(space=selectors.workspace(user=user), user=user)
    assert sorted(run.fetches.values_list("practice_id", flat=True)) == sorted(p.pk for p in world.practices[:2])


def test_a_practice_has_one_bureau(world):
    other = services.create_bureau(name="Other Bureau")
    with pytest.raises(services.BureauError):
        services.add_practice(bureau=other, practice=world.practices[0])
    assert services.add_practice(bureau=world.bureau, practice=world.practices[0]).bureau == world.bureau


def test_bills_waiting_to_be_checked_again_are_counted_and_their_practices_rechecked(world):
    from django.core.cache import cache
    from django.test import Client

    from openpractice.healthcode.models import InvoiceCheck

    user = bureau_user(world, {0: Role.BILLING, 1: Role.PRACTITIONER})
    space = selectors.workspace(user=user)
    InvoiceCheck.objects.filter(practice__in=world.practices[:2]).update(stale=True, recheck_on=None)
    pending = selectors.rechecks_pending(space=space, today=TODAY)
    assert list(pending) == [world.practices[0].pk]  # the practitioner's practice is not theirs to bill
    assert pending[world.practices[0].pk] > 0
    cache.clear()
    assert services.queue_rechecks(space=space, practice_ids=list(pending)) == 1
    assert services.queue_rechecks(space=space, practice_ids=list(pending)) == 0  # once a minute
    client = Client()
    client.force_login(user)
    assert "being checked again" in client.get("/bureau/?kind=ready").content.decode()
