"""An invoice's page reads its places (four links to locations) and controlling specialist by id
after the invoice (billing.selectors.invoice_with_rows, issue 18): what is set is shown, in two
queries at most whatever is set, and an invoice with none set reads none of them."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from openpractice.billing.models import Invoice
from openpractice.billing.selectors import invoice_with_rows
from openpractice.practices.models import Location, Membership


def _biller():
    from openpractice.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email="billing@demo.openpractice.test"))
    return client


def test_the_places_and_specialist_set_are_shown(demo, make_invoice):
    plain = make_invoice()
    placed = make_invoice()
    clinic = Location.objects.create(practice=demo, name="Wimpole Clinic")
    hospital = Location.objects.create(practice=demo, name="St Elsewhere Hospital")
    specialist = Membership.objects.select_related("user").get(practice=demo, user__email__startswith="dr.sample")
    Invoice.objects.filter(pk=placed.pk).update(
        location=clinic,
        provider_location=clinic,
        payee_location=hospital,
        payee_kind="location",
        facility=hospital,
        controlling_specialist=specialist,
    )
    with CaptureQueriesContext(connection) as none_set:
        read = invoice_with_rows(practice=demo, invoice_id=plain.pk)
        assert read.location is None and read.facility is None and read.controlling_specialist is None
    with CaptureQueriesContext(connection) as all_set:
        read = invoice_with_rows(practice=demo, invoice_id=placed.pk)
        assert (read.location, read.provider_location, read.payee_location, read.facility) == (
            clinic,
            clinic,
            hospital,
            hospital,
        )
        assert read.controlling_specialist.user.full_name == specialist.user.full_name
    assert len(all_set.captured_queries) == len(none_set.captured_queries) + 2
    page = _biller().get(f"/invoices/{placed.pk}/").content.decode()
    assert "Wimpole Clinic" in page and "St Elsewhere Hospital" in page and specialist.user.full_name in page
