"""Property tests: for any sequence of remittances, manual matches, shortfall transfers, reversals
and billing's own payments, every invoice's balance is its total less its ledger, no allocation
exceeds what is owed, and the reports add up to the ledger."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from remit_helpers import as_csv, bundle, csv_options, dumps, receive

from openpractice.billing.models import CreditNote, Invoice, Payment, RecordStatus
from openpractice.remittances import services
from openpractice.remittances.errors import RemittanceError
from openpractice.remittances.models import Allocation, AllocationKind, LineStatus, RemittanceLine
from openpractice.reports import selectors as reports

D = Decimal
PRODUCT_SETS = [("Consultation",), ("Consultation", "Follow-up"), ("Scan",), ("Follow-up", "Scan")]

# How much of each line an insurer pays: all, none, or a share (rounded to the penny).
shares = st.sampled_from([D("1"), D("0"), D("0.5"), D("0.83"), D("0.1")])
remit = st.tuples(st.just("remit"), st.integers(0, 7), st.lists(shares, min_size=2, max_size=2), st.booleans())
reverse = st.tuples(st.just("reverse"), st.integers(0, 30))
transfer = st.tuples(st.just("transfer"), st.integers(0, 30))
match = st.tuples(st.just("match"), st.integers(0, 30), st.integers(0, 7))
pay = st.tuples(st.just("pay"), st.integers(0, 7), st.sampled_from([D("10.00"), D("55.55"), D("1000.00")]))
credit = st.tuples(st.just("credit"), st.integers(0, 7), st.sampled_from([D("5.00"), D("99.99")]))
operations = st.lists(st.one_of(remit, reverse, transfer, match, pay, credit), min_size=1, max_size=12)
# Another form of a remittance received before: a CSV (LF or CRLF, with or without bill ids, with or
# without the payment date, UTF-8 with a BOM or UTF-16) or the FHIR Bundle under another id.
forms = st.lists(
    st.tuples(
        st.sampled_from(["csv", "fhir"]),
        st.sampled_from(["\n", "\r\n"]),
        st.booleans(),
        st.booleans(),
        st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
    ),
    min_size=1,
    max_size=3,
)


def _pick(items, index):
    return items[index % len(items)] if items else None


def _run(world, invoices, ops):
    from openpractice.billing import services as billing
    from openpractice.billing.errors import BillingError

    received = []  # every remittance Bundle posted, to be sent again in another form
    for op in ops:
        kind = op[0]
        try:
            if kind == "remit":
                _, index, paid_shares, wrong_number = op
                invoice = invoices[index % len(invoices)]
                lines = list(invoice.lines.all())
                paid = [(line.net_amount * s).quantize(D("0.01")) for line, s in zip(lines, paid_shares)]
                body = bundle(
                    [
                        {
                            "invoice": invoice,
                            "paid": paid,
                            "reason": "Benefit maximum",
                            "number": "X" if wrong_number else invoice.number,
                        }
                    ]
                )
                receive(world.practice, body)
                received.append(body)
            elif kind == "reverse":
                rows = list(
                    Allocation.objects.filter(practice=world.practice, reversed_by__isnull=True)
                    .exclude(kind=AllocationKind.REVERSAL)
                    .order_by("pk")
                )
                row = _pick(rows, op[1])
                if row:
                    services.reverse_allocation(allocation=row, reason="property test")
            elif kind == "transfer":
                row = _pick(list(RemittanceLine.objects.filter(practice=world.practice).order_by("pk")), op[1])
                if row:
                    services.transfer_shortfall(line=row)
            elif kind == "match":
                row = _pick(
                    list(
                        RemittanceLine.objects.filter(practice=world.practice, status=LineStatus.REVIEW).order_by("pk")
                    ),
                    op[1],
                )
                if row:
                    services.match_by_hand(line=row, invoice=invoices[op[2] % len(invoices)])
            elif kind == "pay":
                billing.record_payment(invoice=invoices[op[1] % len(invoices)], amount=op[2], received_on=world_today())
            elif kind == "credit":
                billing.create_credit_note(invoice=invoices[op[1] % len(invoices)], amount=op[2], reason="Goodwill")
        except (RemittanceError, BillingError):
            pass  # a refused operation must leave everything as it was: checked below
    return received


def _again(world, body: dict, form: tuple) -> None:
    """Import a remittance received before, in another form: refused as received already."""
    import json

    kind, newline, bill_ids, with_date, encoding = form
    if kind == "fhir":
        copy = json.loads(dumps(body))
        copy["id"] = copy["entry"][0]["resource"]["id"] = body["id"] + "-AGAIN"
        content, options = json.dumps(copy, indent=1).replace("\n", newline).encode(encoding), {"kind": "fhir"}
    else:
        content = as_csv(body, bill_ids=bill_ids, newline=newline, encoding=encoding)
        options = {**csv_options(body, bill_ids=bill_ids), **({} if with_date else {"payment_date": None})}
    try:
        services.import_file(practice=world.practice, content=content, **options)
    except RemittanceError as exc:
        assert exc.code == "duplicate", exc.message
    else:
        raise AssertionError("a remittance received before was imported again")


def _money_in(world) -> Decimal:
    return sum((a.amount for a in Allocation.objects.filter(practice=world.practice)), D("0.00"))


def world_today():
    from django.utils import timezone

    return timezone.localdate()


def _check_invariants(world):
    practice = world.practice
    for invoice in Invoice.objects.filter(practice=practice):
        ledger = sum((a.amount for a in Allocation.objects.filter(invoice=invoice)), D("0.00"))
        payments = sum((p.amount for p in Payment.objects.filter(invoice=invoice)), D("0.00"))
        credits = sum((c.amount for c in CreditNote.objects.filter(invoice=invoice)), D("0.00"))
        assert invoice.paid_total == payments + ledger, invoice
        assert invoice.balance == invoice.total - ledger - payments - credits - invoice.written_off_total
        if not payments and not credits:
            assert invoice.balance == invoice.total - ledger
        assert D("0.00") <= invoice.balance <= invoice.total, invoice  # nothing ever over-allocated
        for line in invoice.lines.all():
            on_line = sum((a.amount for a in Allocation.objects.filter(invoice_line=line)), D("0.00"))
            assert D("0.00") <= on_line <= line.net_amount + line.vat_amount
    for row in Allocation.objects.filter(practice=practice, kind=AllocationKind.REVERSAL):
        assert row.amount == -row.reverses.amount
    # Transfers never exceed the deduction the insurer stated.
    for line in RemittanceLine.objects.filter(practice=practice):
        moved = sum(
            (
                a.amount
                for a in Allocation.objects.filter(
                    remittance_line=line, kind=AllocationKind.SHORTFALL_TRANSFER, reversed_by__isnull=True
                )
            ),
            D("0.00"),
        )
        assert moved <= line.shortfall
    # Reports equal the ledger.
    owed = [i for i in Invoice.objects.filter(practice=practice, record_status=RecordStatus.ISSUED)]
    by_insurer = reports.aged_debt(practice=practice, by="insurer")
    by_patient = reports.aged_debt(practice=practice, by="patient")
    expected_insurer = sum((i.total - _rows(i) for i in owed if i.bill_to == "insurer"), D("0.00"))
    expected_patient = sum((i.total - _rows(i) for i in owed if i.bill_to == "patient"), D("0.00"))
    assert by_insurer.total == expected_insurer and sum(by_insurer.totals) == by_insurer.total
    assert by_patient.total == expected_patient
    paid_rows = sum(
        (
            a.amount
            for a in Allocation.objects.filter(practice=practice)
            if a.kind == AllocationKind.INSURER_PAYMENT
            or (a.kind == AllocationKind.REVERSAL and a.reverses.kind == AllocationKind.INSURER_PAYMENT)
        ),
        D("0.00"),
    )
    manual = sum((p.amount for p in Payment.objects.filter(practice=practice)), D("0.00"))
    report = reports.payments_by_period(practice=practice)
    assert sum((r["amount"] for r in report if r["source"] == "Remittance"), D("0.00")) == paid_rows
    assert sum((r["amount"] for r in report if r["source"] != "Remittance"), D("0.00")) == manual


def _rows(invoice) -> Decimal:
    """What the rows say was applied: ledger + payments + credit notes + written off."""
    return (
        sum((a.amount for a in Allocation.objects.filter(invoice=invoice)), D("0.00"))
        + sum((p.amount for p in Payment.objects.filter(invoice=invoice)), D("0.00"))
        + sum((c.amount for c in CreditNote.objects.filter(invoice=invoice)), D("0.00"))
        + invoice.written_off_total
    )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(ops=operations, again=forms)
def test_ledger_invariants_hold_for_any_sequence(world, ops, again):
    from django.db import transaction

    # Each example in its own savepoint, rolled back, so examples do not see each other's rows.
    with transaction.atomic():
        invoices = [world.invoice(*PRODUCT_SETS[i % len(PRODUCT_SETS)]) for i in range(4)]
        received = _run(world, invoices, ops)
        _check_invariants(world)
        # Re-importing any of them in another form posts £0 more, whatever happened since.
        before, lines = _money_in(world), RemittanceLine.objects.filter(practice=world.practice).count()
        for index, body in enumerate(received):
            _again(world, body, again[index % len(again)])
        assert _money_in(world) == before
        assert RemittanceLine.objects.filter(practice=world.practice).count() == lines
        _check_invariants(world)
        transaction.set_rollback(True)
