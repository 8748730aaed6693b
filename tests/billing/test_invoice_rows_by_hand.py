"""billing.selectors.invoice_with_rows reads the invoice and its rows by hand (openpractice.db.rows,
issue 18): what it gives is what the ORM gave with select_related and prefetch_related (every
field of the invoice, its patient, insurance, insurer contact and directory entry, practitioner
with user and profile, lines with products, payments, credit notes, in the same order), with
nothing left to read; another practice's invoice is a 404; the invoice page runs the same number
of queries however many rows the invoice has."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Prefetch
from django.http import Http404
from django.test import Client
from django.test.utils import CaptureQueriesContext

from openpractice.accounts.models import PractitionerProfile, User
from openpractice.billing import selectors, services
from openpractice.billing.models import InvoiceLine
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.products.models import Product


def _orm_invoice_with_rows(practice, invoice_id):
    """The reads as the ORM made them before (the reference)."""
    qs = (
        selectors.invoices(practice=practice)
        .select_related("practitioner__practitioner_profile")
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.select_related("product")),
            "payments",
            "credit_notes",
        )
    )
    return get_for_practice_or_404(qs, practice, pk=invoice_id)


def _fields(obj):
    if obj is None:
        return None
    return (type(obj), {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields})


def _everything(invoice):
    """All the page reads of the invoice, as plain values (each relation through its cache)."""
    contact = invoice.insurer_contact
    practitioner = invoice.practitioner
    try:
        profile = practitioner.practitioner_profile
    except PractitionerProfile.DoesNotExist:
        profile = None
    return {
        "invoice": _fields(invoice),
        "patient": _fields(invoice.patient),
        "insurance": _fields(invoice.insurance),
        "contact": _fields(contact),
        "insurer": _fields(contact.insurer) if contact is not None else "no contact",
        "practitioner": _fields(practitioner),
        "user": _fields(practitioner.user),
        "profile": _fields(profile),
        "lines": [(_fields(line), _fields(line.product), line.invoice is invoice) for line in invoice.lines.all()],
        "payments": [(_fields(p), p.invoice is invoice) for p in invoice.payments.all()],
        "credit_notes": [(_fields(c), c.invoice is invoice) for c in invoice.credit_notes.all()],
    }


def _with_rows(demo, make_invoice, **kwargs):
    """An issued invoice of three lines (out of sequence order), two payments and a credit note."""
    invoice = make_invoice(**kwargs)
    day = invoice.invoice_date
    products = list(Product.objects.filter(practice=demo).order_by("id")[:2])
    for sequence, product in ((3, products[0]), (2, products[1])):
        InvoiceLine.objects.create(
            practice=demo,
            invoice=invoice,
            sequence=sequence,
            product=product,
            service_date=day,
            description=f"Line {sequence}",
            quantity=1,
            unit_price=Decimal("10.00"),
            net_amount=Decimal("10.00"),
            vat_amount=Decimal("0.00"),
        )
    services.issue_invoice(invoice=invoice)
    services.record_payment(invoice=invoice, amount="5.00", received_on=day, reference="later")
    services.record_payment(invoice=invoice, amount="7.50", received_on=day - dt.timedelta(days=1), reference="earlier")
    services.create_credit_note(invoice=invoice, amount="2.50", reason="Goodwill")
    return invoice


@pytest.mark.parametrize("bill_to", ["insurer", "patient"])
def test_the_invoice_read_by_hand_is_the_one_the_orm_read(demo, make_invoice, bill_to):
    invoice = _with_rows(demo, make_invoice, bill_to=bill_to)
    expected = _everything(_orm_invoice_with_rows(demo, invoice.pk))
    read = selectors.invoice_with_rows(practice=demo, invoice_id=invoice.pk)
    with CaptureQueriesContext(connection) as captured:
        got = _everything(read)
    assert got == expected
    assert not captured.captured_queries  # nothing left to read
    assert len(got["lines"]) == 3 and len(got["payments"]) == 2 and len(got["credit_notes"]) == 1
    assert (got["contact"] is None) == (bill_to == "patient")
    # A filter on a relation still reads the database, for this invoice only.
    assert list(read.lines.filter(sequence=2)) == [line for line in read.lines.all() if line.sequence == 2]


def test_a_practitioner_without_a_profile_reads_as_none(demo, make_invoice):
    invoice = make_invoice()
    PractitionerProfile.objects.filter(membership_id=invoice.practitioner_id).delete()
    expected = _everything(_orm_invoice_with_rows(demo, invoice.pk))
    read = selectors.invoice_with_rows(practice=demo, invoice_id=invoice.pk)
    with CaptureQueriesContext(connection) as captured:
        got = _everything(read)
    assert got == expected and got["profile"] is None and not captured.captured_queries


def test_another_practices_invoice_is_a_404(demo, make_invoice, practice):
    invoice = make_invoice()
    with pytest.raises(Http404):
        selectors.invoice_with_rows(practice=practice, invoice_id=invoice.pk)
    with pytest.raises(Http404):
        selectors.invoice_with_rows(practice=None, invoice_id=invoice.pk)
    with pytest.raises(Http404):
        selectors.invoice_with_rows(practice=demo, invoice_id="x")
    assert selectors.invoice_with_rows(practice=demo, invoice_id=str(invoice.pk)).pk == invoice.pk


def _page_queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_invoice_page_runs_the_same_queries_whatever_its_rows(demo, make_invoice):
    client = Client()
    client.force_login(User.objects.get(email="billing@demo.openpractice.test"))
    few = make_invoice()
    services.issue_invoice(invoice=few)
    services.record_payment(invoice=few, amount="5.00", received_on=few.invoice_date)
    many = _with_rows(demo, make_invoice)
    assert _page_queries(client, f"/invoices/{few.pk}/") == _page_queries(client, f"/invoices/{many.pk}/") == 17
