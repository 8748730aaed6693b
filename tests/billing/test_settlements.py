"""Billing's services for other ledgers: apply_settlements (the bulk form of
refresh_payment_outcome, which a remittance posting calls for 100,000 invoices at once) and
create_shortfall_invoice (the patient's invoice for an insurer's deduction)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.billing import services
from openpractice.billing.errors import BillingError
from openpractice.billing.models import SHORTFALL_PRICE_SOURCE, BillTo, Invoice, PaymentOutcome, RecordStatus
from openpractice.billing.money import ZERO
from openpractice.practices.roles import Role

D = Decimal
TODAY = dt.date.today()
PRICES = {"Consultation": "180.00", "Follow-up": "120.50", "Scan": "250.00"}


class Setting:
    """A practice with an insured patient and three products (no clearing house needed)."""

    def __init__(self, practice, make_member, insurer_contact):
        from openpractice.patients import services as patients
        from openpractice.practices.models import Membership
        from openpractice.products import services as products

        self.practice = practice
        doctor = make_member(practice, Role.PRACTITIONER)
        self.practitioner = Membership.objects.get(practice=practice, user=doctor)
        self.insurer = insurer_contact(practice, "bup")
        self.patient = patients.create_patient(
            practice=practice,
            data={"first_name": "Oliver", "last_name": "Bennett", "date_of_birth": dt.date(1980, 4, 12)},
        )
        self.insurance = patients.add_relationship(
            patient=self.patient,
            data={
                "relationship_type": "insurance",
                "related_contact": self.insurer,
                "related_patient": None,
                "registration_number": "10000001",
            },
        )
        self.products = {
            name: products.create_product(
                practice=practice,
                data={
                    "product_type": "appointment",
                    "name": name,
                    "procedure_type": "",
                    "duration_minutes": 30,
                    "list_price": D(price),
                    "vat_treatment": "exempt",
                    "industry_standard_code": "",
                    "procedure_code": "",
                },
            )
            for name, price in PRICES.items()
        }

    def invoice(self, *names: str, bill_to=BillTo.INSURER, issue=True) -> Invoice:
        header = {
            "bill_to": bill_to,
            "patient": self.patient,
            "insurance": self.insurance if bill_to == BillTo.INSURER else None,
            "practitioner": self.practitioner,
            "invoice_date": TODAY,
        }
        invoice = services.create_invoice(
            practice=self.practice,
            data=header,
            lines=[
                {"product": self.products[n], "service_date": TODAY, "quantity": 1} for n in names or ("Consultation",)
            ],
        )
        return services.issue_invoice(invoice=invoice) if issue else invoice


@pytest.fixture
def setting(practice, make_member, insurer_contact):
    return Setting(practice, make_member, insurer_contact)


def _settling(practice, applied: dict[int, Decimal]) -> list[SimpleNamespace]:
    """The invoices as a ledger holds them: locked through billing, with what it applies now."""
    found = []
    for chunk in services.lock_for_settlement(practice=practice, invoice_ids=set(applied)):
        for row in chunk.invoices:
            values = dict(zip(services.SETTLEMENT_COLUMNS, row))
            found.append(
                SimpleNamespace(
                    id=values["id"],
                    total=D(str(values["total"])),
                    paid_total=D(str(values["paid_total"])),
                    credited_total=D(str(values["credited_total"])),
                    written_off_total=D(str(values["written_off_total"])),
                    settled=applied[values["id"]],
                )
            )
    return found


def _state(invoices) -> dict[int, tuple[Decimal, str]]:
    return {i.pk: (i.paid_total, i.payment_outcome) for i in Invoice.objects.filter(pk__in=[i.pk for i in invoices])}


# -- apply_settlements --------------------------------------------------------------------------------
def test_apply_settlements_writes_paid_totals_and_outcomes_without_history(setting):
    whole, part, untouched = setting.invoice(), setting.invoice("Consultation", "Scan"), setting.invoice()
    services.record_payment(invoice=part, amount="30.00", received_on=TODAY)
    history = Invoice.history.count()
    before = timezone.now()
    with transaction.atomic():
        handle = services.apply_settlements(
            invoices=_settling(setting.practice, {whole.pk: D("180.00"), part.pk: D("100.00")}), meanwhile=True
        )
        if handle is not None:  # PostgreSQL: the UPDATE ran on a helper thread
            assert connection.vendor == "postgresql"
            handle.wait()
    assert _state([whole, part, untouched]) == {
        whole.pk: (D("180.00"), PaymentOutcome.PAID),
        part.pk: (D("130.00"), PaymentOutcome.PART_PAID),
        untouched.pk: (ZERO, PaymentOutcome.UNPAID),
    }
    assert Invoice.objects.get(pk=whole.pk).updated_at >= before
    assert Invoice.history.count() == history  # the ledger's rows are the audit, not a row per invoice


def test_apply_settlements_counts_credit_notes_and_write_offs_as_settled(setting):
    credited, written_off = setting.invoice(), setting.invoice()
    services.create_credit_note(invoice=credited, amount="80.00", reason="Goodwill")
    services.write_off(invoice=written_off, reason="Small balance")
    services.apply_settlements(invoices=_settling(setting.practice, {credited.pk: D("100.00"), written_off.pk: ZERO}))
    assert _state([credited, written_off]) == {
        credited.pk: (D("100.00"), PaymentOutcome.PAID),
        written_off.pk: (ZERO, PaymentOutcome.WRITTEN_OFF),
    }


def test_apply_settlements_with_nothing_writes_nothing(setting):
    with CaptureQueriesContext(connection) as queries:
        assert services.apply_settlements(invoices=[]) is None
    assert not queries.captured_queries


def test_lock_for_settlement_locks_in_ascending_id_chunks_with_the_lines(setting, monkeypatch):
    from openpractice.db import arrays

    invoices = [setting.invoice("Consultation", "Scan") for _ in range(5)]
    monkeypatch.setattr(arrays, "ANYOF_CHUNK", 2)
    chunks = list(
        services.lock_for_settlement(practice=setting.practice, invoice_ids={i.pk for i in reversed(invoices)})
    )
    ids = [[row[0] for row in chunk.invoices] for chunk in chunks]
    assert ids == [[invoices[0].pk, invoices[1].pk], [invoices[2].pk, invoices[3].pk], [invoices[4].pk]]
    assert [list(chunk.ids) for chunk in chunks] == ids
    assert sorted((row[1], row[2]) for row in chunks[0].lines) == [
        (invoices[0].pk, 1),
        (invoices[0].pk, 2),
        (invoices[1].pk, 1),
        (invoices[1].pk, 2),
    ]


def test_lock_for_settlement_reads_only_the_practices_invoices(setting, other_practice):
    mine = setting.invoice()
    [chunk] = services.lock_for_settlement(practice=other_practice, invoice_ids={mine.pk})
    assert chunk.invoices == []


# For each invoice: what was paid and credited by hand beforehand, and the allocations a ledger posts.
_products = st.lists(st.sampled_from(sorted(PRICES)), min_size=1, max_size=3)
_shares = st.lists(st.sampled_from([D("0"), D("0.01"), D("0.1"), D("0.5"), D("0.83"), D("1")]), max_size=3)
_invoice = st.tuples(
    _products,
    st.sampled_from([None, D("10.00"), D("55.55")]),
    st.sampled_from([None, D("5.00")]),
    st.booleans(),
    _shares,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(plans=st.lists(_invoice, min_size=1, max_size=5))
def test_apply_settlements_agrees_with_refreshing_each_invoice(setting, plans):
    """Over any invoices (paid, credited or written off by hand before) and any allocations, the
    bulk write gives the paid totals and outcomes that refresh_payment_outcome gives one by one."""
    # Each example in its own savepoint, rolled back, so examples do not see each other's rows.
    with transaction.atomic():
        invoices, applied = [], {}
        for names, paid, credited, write_off, shares in plans:
            invoice = setting.invoice(*names)
            if paid:
                services.record_payment(invoice=invoice, amount=paid, received_on=TODAY)
            if credited:
                services.create_credit_note(invoice=invoice, amount=credited, reason="Goodwill")
            if write_off and not shares:
                services.write_off(invoice=invoice, reason="Small balance")
            invoice.refresh_from_db()
            left, amounts = invoice.balance, []
            for share in shares:  # each allocation a share of what is still owed, to the penny
                amount = (left * share).quantize(D("0.01"))
                amounts.append(amount)
                left -= amount
            invoices.append(invoice)
            applied[invoice.pk] = sum(amounts, ZERO)

        with transaction.atomic():
            services.apply_settlements(invoices=_settling(setting.practice, applied))
            in_bulk = _state(invoices)
            transaction.set_rollback(True)

        # The same allocations as a ledger that billing asks, invoice by invoice.
        ledger = [lambda invoice: applied.get(invoice.pk, ZERO)]
        with mock.patch.object(services, "SETTLEMENT_SOURCES", ledger):
            for invoice in invoices:
                services.refresh_payment_outcome(invoice=services.lock_invoice(invoice.pk, invoice.practice_id))
        assert in_bulk == _state(invoices)
        transaction.set_rollback(True)


# -- create_shortfall_invoice -----------------------------------------------------------------------
def _shortfall(invoice, **kwargs):
    values = {
        "invoice": invoice,
        "amount": D("60.00"),
        "insurer": "Bupa",
        "reason": "shortfall",
        "source": "remittance BACS0001",
    }
    return services.create_shortfall_invoice(**{**values, **kwargs})


def test_a_shortfall_invoice_is_issued_to_the_patient_line_by_line(setting, make_member):
    from openpractice.billing.models import NumberSequence

    invoice = setting.invoice("Consultation", "Scan")
    user = make_member(setting.practice, Role.BILLING)
    charges = [
        services.ShortfallCharge(sequence=1, amount=D("30.00"), reason="Benefit maximum"),
        services.ShortfallCharge(sequence=2, amount=D("20.00")),
        services.ShortfallCharge(sequence=9, amount=D("5.00"), reason="not a line of the invoice"),
    ]
    next_number = NumberSequence.objects.get(practice=setting.practice, kind="invoice").next_value
    patient_invoice = _shortfall(invoice, charges=charges, reason="Policy excess", created_by=user)

    assert patient_invoice.record_status == RecordStatus.ISSUED and patient_invoice.bill_to == BillTo.PATIENT
    assert patient_invoice.number.endswith(f"{next_number:06d}")
    assert (
        patient_invoice.patient_id == invoice.patient_id and patient_invoice.practitioner_id == invoice.practitioner_id
    )
    assert (patient_invoice.total, patient_invoice.net_total, patient_invoice.vat_total) == (
        D("60.00"),
        D("60.00"),
        ZERO,
    )
    assert patient_invoice.due_date == patient_invoice.invoice_date + dt.timedelta(days=30)
    assert patient_invoice.created_by_id == user.pk
    assert patient_invoice.notes == f"Shortfall on invoice {invoice.number} from Bupa (remittance BACS0001)."
    lines = [
        (line.sequence, line.description, line.unit_price, line.net_amount, line.price_source, line.product_id)
        for line in patient_invoice.lines.all()
    ]
    assert lines == [
        (
            1,
            "Shortfall: Consultation. Bupa: Benefit maximum",
            D("30.00"),
            D("30.00"),
            SHORTFALL_PRICE_SOURCE,
            setting.products["Consultation"].pk,
        ),
        (
            2,
            "Shortfall: Scan. Bupa: Policy excess",
            D("20.00"),
            D("20.00"),
            SHORTFALL_PRICE_SOURCE,
            setting.products["Scan"].pk,
        ),
        # What the charges do not cover goes on the first charge line, with the shortfall's reason.
        (
            3,
            "Shortfall: Consultation. Bupa: Policy excess",
            D("10.00"),
            D("10.00"),
            SHORTFALL_PRICE_SOURCE,
            setting.products["Consultation"].pk,
        ),
    ]
    assert patient_invoice.carries_shortfall and not patient_invoice.is_editable
    reasons = list(patient_invoice.history.order_by("history_id").values_list("history_change_reason", flat=True))
    assert reasons[-1] == f"Issued as {patient_invoice.number}"
    invoice.refresh_from_db()
    assert invoice.paid_total == ZERO  # the caller's ledger settles the insurer invoice, not this


def test_a_shortfall_never_charges_a_line_more_than_its_deduction_nor_more_than_the_amount(setting):
    invoice = setting.invoice("Consultation", "Scan")
    charges = [
        services.ShortfallCharge(sequence=1, amount=D("50.00")),
        services.ShortfallCharge(sequence=2, amount=D("50.00")),
    ]
    patient_invoice = _shortfall(invoice, amount=D("70.00"), charges=charges)
    assert [(line.sequence, line.net_amount) for line in patient_invoice.lines.all()] == [
        (1, D("50.00")),
        (2, D("20.00")),
    ]
    without = _shortfall(invoice, amount=D("15.00"))
    assert [(line.description, line.net_amount) for line in without.lines.all()] == [
        ("Shortfall: Consultation. Bupa: shortfall", D("15.00"))
    ]


@pytest.mark.parametrize("case", ["draft", "zero", "over_balance"])
def test_a_shortfall_invoice_needs_an_issued_invoice_that_owes_the_amount(setting, case):
    invoice = setting.invoice(issue=case != "draft")
    amount = {"zero": ZERO, "over_balance": D("180.01")}.get(case, D("10.00"))
    count = Invoice.objects.count()
    with pytest.raises(BillingError) as refused:
        _shortfall(invoice, amount=amount)
    assert (refused.value.field, refused.value.code) == (
        ("amount", "invalid") if case in ("zero", "over_balance") else ("invoice", "wrong_status")
    )
    assert Invoice.objects.count() == count


def test_a_shortfall_invoice_locks_the_insurer_invoice_first(setting):
    """The lock order: the insurer invoice's row before anything is written against it."""
    invoice = setting.invoice()
    with CaptureQueriesContext(connection) as queries:
        _shortfall(invoice)
    first = next(q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "BEGIN")))
    assert first.startswith("SELECT") and Invoice._meta.db_table in first and str(invoice.pk) in first
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in first
