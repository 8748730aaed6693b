"""The invoice page's Healthcode panel reads the invoice's submissions and their events by hand
(healthcode.selectors.submissions_with_events, issue 18): what submissions_of read through the
ORM, newest version first, each with its events in order, with nothing left to read; none of
another practice's."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from openpractice.accounts.models import User
from openpractice.healthcode import selectors
from openpractice.healthcode import submission as hc
from openpractice.patients.models import PatientRelationship


def _fields(obj):
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _read(submissions):
    return [(_fields(s), [_fields(e) for e in s.events.all()]) for s in submissions]


def test_the_panels_submissions_are_the_orm_read(demo, make_invoice, healthcode_sandbox, practice):
    from sandbox.testing import SandboxApi

    invoice = make_invoice()
    assert selectors.submissions_with_events(practice=demo, invoice=invoice) == []
    PatientRelationship.objects.filter(pk=invoice.insurance_id).update(registration_number="10000077")
    first = hc.submit_invoice(invoice=invoice, enqueue=False)
    hc.deliver(first.pk)
    SandboxApi(healthcode_sandbox).advance(61)
    hc.refresh_status(submission=first)
    PatientRelationship.objects.filter(pk=invoice.insurance_id).update(registration_number="10000001")
    second = hc.submit_invoice(invoice=invoice, enqueue=False)
    hc.deliver(second.pk)
    other = make_invoice()
    hc.submit_invoice(invoice=other, enqueue=False)

    expected = _read(selectors.submissions_of(practice=demo, invoice=invoice))
    found = selectors.submissions_with_events(practice=demo, invoice=invoice)
    with CaptureQueriesContext(connection) as captured:
        got = _read(found)
    assert got == expected and not captured.captured_queries
    assert [s["version"] for s, _ in got] == [2, 1] and all(events for _, events in got)
    assert selectors.submissions_with_events(practice=practice, invoice=invoice) == []

    client = Client()
    client.force_login(User.objects.get(email="billing@demo.openpractice.test"))
    page = client.get(f"/invoices/{invoice.pk}/").content.decode()
    rows = page[page.index('<table class="data compact" id="submissions">') :]
    assert rows.index("<tr><td>v2</td>") < rows.index("<tr><td>v1</td>")
    assert rows.count("<tr><td>v") == sum(len(events) for _, events in got)
