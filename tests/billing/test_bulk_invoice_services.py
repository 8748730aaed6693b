"""Billing's bulk services, which healthcode's bulk queueing and delivery call: issuing many drafts
(`issue_invoices`), setting many clearing-house statuses (`set_clearing_house_statuses`) and the
one lock order (`lock_invoices`). Each bulk form must do what its one-at-a-time form does."""

import random

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.billing import services
from openpractice.billing.errors import BillingError
from openpractice.billing.models import HealthcodeStatus, Invoice, NumberSequence, RecordStatus

POOL = 6


def _reasons(invoice) -> list:
    return list(
        Invoice.history.filter(id=invoice.pk).order_by("history_id").values_list("history_change_reason", flat=True)
    )


def _next_value(practice) -> int:
    return NumberSequence.objects.get(practice=practice, kind="invoice").next_value


def _prefix(practice) -> str:
    return NumberSequence.objects.get(practice=practice, kind="invoice").prefix


def _issue_many(practice, ids, *, order=None, user=None):
    with transaction.atomic():
        locked = services.lock_invoices(practice_id=practice.pk, invoice_ids=ids)
        invoices = [locked[pk] for pk in (order or ids)]
        return services.issue_invoices(practice=practice, invoices=invoices, user=user)


def test_issue_invoices_numbers_in_id_order_with_a_history_row_each(demo, make_invoice):
    services.issue_invoice(invoice=make_invoice())  # the sequence has moved on: numbers carry on from it
    start = _next_value(demo)
    drafts = [make_invoice() for _ in range(4)]
    ids = [d.pk for d in drafts]
    issued = _issue_many(demo, ids, order=list(reversed(ids)))
    assert [i.pk for i in issued] == sorted(ids)
    prefix = _prefix(demo)
    expected = {pk: f"{prefix}{start + n:06d}" for n, pk in enumerate(sorted(ids))}
    assert {i.pk: i.number for i in issued} == expected
    assert _next_value(demo) == start + 4
    for row in Invoice.objects.filter(pk__in=ids):
        assert row.record_status == RecordStatus.ISSUED and row.number == expected[row.pk]
        assert row.issued_at is not None
        assert _reasons(row)[-1] == f"Issued as {row.number}"
    assert len({i.issued_at for i in issued}) == 1  # one moment for the lot


def test_issue_invoices_refuses_a_non_draft_by_name_and_writes_nothing(demo, make_invoice):
    issued = services.issue_invoice(invoice=make_invoice())
    drafts = [make_invoice(), make_invoice()]
    start = _next_value(demo)
    with pytest.raises(BillingError) as refused:
        _issue_many(demo, [drafts[0].pk, issued.pk, drafts[1].pk])
    assert refused.value.field == "record_status" and refused.value.code == "wrong_status"
    assert refused.value.message == f"Invoice {issued.number}: only a draft can be issued; this invoice is issued."
    assert _next_value(demo) == start
    assert set(Invoice.objects.filter(pk__in=[d.pk for d in drafts]).values_list("record_status", flat=True)) == {
        RecordStatus.DRAFT
    }
    # The one-at-a-time form keeps its own words.
    with pytest.raises(BillingError, match=r"^Only a draft can be issued; this invoice is issued\.$"):
        services.issue_invoice(invoice=issued)


def test_issue_invoices_refuses_another_practices_invoice(demo, make_invoice, make_practice):
    draft = make_invoice()
    other = make_practice(name="Elsewhere")
    with pytest.raises(BillingError, match="not an invoice of this practice"), transaction.atomic():
        services.issue_invoices(practice=other, invoices=[draft])
    draft.refresh_from_db()
    assert draft.record_status == RecordStatus.DRAFT


def test_nothing_to_issue_is_nothing_written(demo):
    start = _next_value(demo) if NumberSequence.objects.filter(practice=demo).exists() else None
    with transaction.atomic():
        assert services.issue_invoices(practice=demo, invoices=[]) == []
        assert services.set_clearing_house_statuses(changes=[]) == []
    assert (_next_value(demo) if start is not None else None) == start


@pytest.fixture
def drafts(demo, make_invoice):
    return [make_invoice(last_name=name).pk for name in ["Bennett", "Clarke", "Patel", "Robinson"] * 2][:POOL]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picked=st.lists(st.integers(min_value=0, max_value=POOL - 1), min_size=1, max_size=POOL, unique=True),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_issuing_many_is_issuing_them_one_at_a_time(demo, drafts, picked, seed):
    """N drafts issued together get N distinct consecutive numbers, in id order, and end exactly
    as issuing them one at a time in id order leaves them (rolled back between the two)."""
    ids = [drafts[n] for n in picked]
    order = ids[:]
    random.Random(seed).shuffle(order)
    prefix = _prefix(demo)
    with transaction.atomic():
        start = _next_value(demo)
        together = {i.pk: (i.number, i.record_status) for i in _issue_many(demo, ids, order=order)}
        together_reasons = {pk: _reasons(Invoice(pk=pk))[-1] for pk in ids}
        transaction.set_rollback(True)
    numbers = [together[pk][0] for pk in sorted(ids)]
    assert numbers == [f"{prefix}{start + n:06d}" for n in range(len(ids))]  # distinct and consecutive
    with transaction.atomic():
        assert _next_value(demo) == start  # rolled back: the numbers are given back
        one_by_one = {}
        for pk in sorted(ids):
            invoice = services.issue_invoice(invoice=Invoice.objects.get(pk=pk))
            one_by_one[pk] = (invoice.number, invoice.record_status)
        one_by_one_reasons = {pk: _reasons(Invoice(pk=pk))[-1] for pk in ids}
        transaction.set_rollback(True)
    assert together == one_by_one
    assert together_reasons == one_by_one_reasons


def test_set_clearing_house_statuses_writes_only_what_changes(demo, make_invoice):
    moved, same, corrected = (services.issue_invoice(invoice=make_invoice()) for _ in range(3))
    services.set_clearing_house_status(invoice=same, status=HealthcodeStatus.QUEUED)
    before = {i.pk: len(_reasons(i)) for i in (moved, same, corrected)}
    with transaction.atomic():
        locked = services.lock_invoices(practice_id=demo.pk, invoice_ids=[moved.pk, same.pk, corrected.pk])
        changed = services.set_clearing_house_statuses(
            changes=[
                (locked[moved.pk], HealthcodeStatus.QUEUED),
                (locked[same.pk], HealthcodeStatus.QUEUED),
                (locked[corrected.pk], HealthcodeStatus.QUEUED),
            ],
            versions={corrected.pk: 2},
        )
    assert [i.pk for i in changed] == [moved.pk, corrected.pk]
    rows = {i.pk: i for i in Invoice.objects.filter(pk__in=before)}
    assert {pk: (r.healthcode_status, r.version) for pk, r in rows.items()} == {
        moved.pk: (HealthcodeStatus.QUEUED, 1),
        same.pk: (HealthcodeStatus.QUEUED, 1),
        corrected.pk: (HealthcodeStatus.QUEUED, 2),
    }
    after = {pk: _reasons(rows[pk]) for pk in before}
    assert len(after[same.pk]) == before[same.pk]  # unchanged: no history row
    for pk in (moved.pk, corrected.pk):
        assert len(after[pk]) == before[pk] + 1 and after[pk][-1] == "Healthcode: Sending to Healthcode"


def test_the_bulk_status_form_matches_the_single_form(demo, make_invoice):
    single, many = (services.issue_invoice(invoice=make_invoice()) for _ in range(2))
    for status in (HealthcodeStatus.QUEUED, HealthcodeStatus.UNPROCESSED, HealthcodeStatus.FAILED):
        with transaction.atomic():
            services.set_clearing_house_status(
                invoice=services.lock_invoice(single.pk, demo.pk), status=status, version=3
            )
            services.set_clearing_house_statuses(
                changes=[(services.lock_invoices(practice_id=demo.pk, invoice_ids=[many.pk])[many.pk], status)],
                versions={many.pk: 3},
            )
    single.refresh_from_db()
    many.refresh_from_db()
    assert (
        (single.healthcode_status, single.version)
        == (many.healthcode_status, many.version)
        == (HealthcodeStatus.FAILED, 3)
    )
    assert (
        _reasons(single)[-3:]
        == _reasons(many)[-3:]
        == [
            "Healthcode: Sending to Healthcode",
            f"Healthcode: {HealthcodeStatus.UNPROCESSED.label}",
            "Healthcode: Awaiting correction — fix and resubmit",
        ]
    )


def test_an_unknown_status_is_refused_before_anything_is_written(demo, make_invoice):
    invoice = services.issue_invoice(invoice=make_invoice())
    with pytest.raises(ValueError), transaction.atomic():
        locked = services.lock_invoices(practice_id=demo.pk, invoice_ids=[invoice.pk])
        services.set_clearing_house_statuses(changes=[(locked[invoice.pk], "lost in the post")])
    invoice.refresh_from_db()
    assert invoice.healthcode_status == HealthcodeStatus.NOT_SUBMITTED


def test_lock_invoices_keeps_to_the_practice_and_the_id_order(demo, make_invoice, make_practice):
    invoices = [make_invoice() for _ in range(3)]
    ids = [i.pk for i in reversed(invoices)]
    with transaction.atomic():
        assert list(services.lock_invoices(practice_id=demo.pk, invoice_ids=ids)) == sorted(ids)
        assert services.lock_invoice_ids(practice_id=demo.pk, invoice_ids=ids) == sorted(ids)
        other = make_practice(name="Elsewhere")
        assert services.lock_invoices(practice_id=other.pk, invoice_ids=ids) == {}
        with pytest.raises(Invoice.DoesNotExist):
            services.lock_invoice(ids[0], other.pk)
