"""The Healthcode parts of billing's invoice pages (healthcode/templatetags/healthcode.py): opening
an invoice, its status badge, the list's not-ready view and a bulk run's page read and nothing
more (no call to the clearing house, no row written); the insurer is asked about the membership
only when someone presses "Check membership with <insurer>"."""

import datetime as dt

import httpx
import pytest
from django.test import Client

from openpractice.healthcode.models import ApiExchange, BulkSubmission, MembershipCheck, Submission, SubmissionEvent
from openpractice.patients.models import PatientRelationship


def _client(email="billing@demo.openpractice.test"):
    from openpractice.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=email))
    return client


def _rows():
    return {
        model.__name__: model.objects.count()
        for model in (MembershipCheck, Submission, SubmissionEvent, ApiExchange, BulkSubmission)
    }


@pytest.fixture
def no_outbound(monkeypatch):
    """Any HTTP request OpenPractice makes (the clearing-house client is httpx) fails the test."""
    calls = []

    def refuse(self, request, *args, **kwargs):
        calls.append(str(request.url))
        raise AssertionError(f"a GET called out: {request.method} {request.url}")

    monkeypatch.setattr(httpx.Client, "send", refuse)
    return calls


def test_opening_pages_never_calls_the_clearing_house_or_writes(demo, make_invoice, healthcode_sandbox, no_outbound):
    invoice = make_invoice()  # Bupa checks its member database: the check wants the insurer's answer
    late = make_invoice(last_name="Clarke", service_date=dt.date.today() + dt.timedelta(days=3))
    bulk = BulkSubmission.objects.create(practice=demo, requested=1)
    before = _rows()
    for who in (_client(), _client("reception@demo.openpractice.test")):
        for url in (
            f"/invoices/{invoice.pk}/",
            f"/invoices/{invoice.pk}/status/",
            f"/invoices/{late.pk}/",
            "/invoices/",
            "/invoices/?view=not_ready",
            f"/invoices/bulk/{bulk.pk}/",
            f"/invoices/bulk/{bulk.pk}/progress/",
        ):
            assert who.get(url).status_code == 200, url
    page = _client().get(f"/invoices/{invoice.pk}/").content.decode()
    assert "has not been checked with Bupa" in page
    assert "Check membership with Bupa" in page
    assert no_outbound == [] and _rows() == before


def test_api_reads_never_call_the_clearing_house_or_write(
    demo, make_invoice, healthcode_sandbox, no_outbound, api_token_for
):
    from openpractice.accounts.models import User

    invoice = make_invoice()
    headers = api_token_for(User.objects.get(email="billing@demo.openpractice.test"), demo)
    bulk = BulkSubmission.objects.create(practice=demo, requested=1)
    before = _rows()
    for url in (
        f"/api/v1/invoices/{invoice.pk}/check",
        f"/api/v1/invoices/{invoice.pk}/healthcode",
        f"/api/v1/invoices/healthcode/bulk/{bulk.pk}",
    ):
        assert Client().get(url, **headers).status_code == 200, url
    assert no_outbound == [] and _rows() == before


def test_check_membership_on_demand(demo, make_invoice, healthcode_sandbox):
    invoice = make_invoice()
    reception = _client("reception@demo.openpractice.test")  # the page's readers may ask, as on the patient's page
    answer = reception.post(f"/invoices/{invoice.pk}/check-membership/", follow=True)
    assert answer.redirect_chain == [(f"/invoices/{invoice.pk}/", 302)]
    page = answer.content.decode()
    assert "Bupa: Membership confirmed" in page
    assert MembershipCheck.objects.filter(relationship=invoice.insurance, outcome="match").count() == 1
    assert "Every rule Healthcode applies that can be checked here is met" in page
    assert "Check membership with Bupa" not in page  # answered for these details: nothing to ask


def test_check_membership_finds_a_wrong_number(demo, make_invoice, healthcode_sandbox):
    PatientRelationship.objects.filter(practice=demo, registration_number="10000001").update(
        registration_number="10000011", registration_key="10000011"
    )
    invoice = make_invoice()
    page = _client().post(f"/invoices/{invoice.pk}/check-membership/", follow=True).content.decode()
    assert "Bupa: No match" in page
    assert "was not found in Bupa" in page and 'id="fix-registration"' in page
    assert 'id="submit-healthcode" disabled' in page


def test_no_membership_button_without_tested_credentials(demo, make_invoice):
    invoice = make_invoice()
    type(demo.healthcode).objects.filter(practice=demo).update(last_test_ok=False)  # wherever the model lives
    page = _client().get(f"/invoices/{invoice.pk}/").content.decode()
    assert "Check membership with" not in page and "Healthcode is not set up yet" in page
    answer = _client().post(f"/invoices/{invoice.pk}/check-membership/", follow=True).content.decode()
    assert "Membership not checked:" in answer and not MembershipCheck.objects.exists()


def test_a_patient_invoice_has_no_healthcode_panel(demo, make_invoice):
    invoice = make_invoice(bill_to="patient")
    page = _client().get(f"/invoices/{invoice.pk}/").content.decode()
    assert "Pre-submission check" not in page and 'id="hc-status"' not in page
    answer = _client().post(f"/invoices/{invoice.pk}/check-membership/", follow=True).content.decode()
    assert "This invoice is not to an insurer." in answer


def _stored(invoice, *problems):
    """The invoice's stored check, up to date, with these blocking problems in place of its own."""
    from openpractice.healthcode import stored_checks
    from openpractice.healthcode.models import InvoiceCheck, InvoiceCheckProblem

    stored_checks.record_check(invoice=invoice)
    InvoiceCheckProblem.objects.filter(stored_check_id=invoice.pk).delete()
    for position, (field, message) in enumerate(problems):
        InvoiceCheckProblem.objects.create(
            stored_check_id=invoice.pk,
            position=position,
            code="stored",
            field=field,
            message=message,
            suggestion="Stored suggestion",
        )
    InvoiceCheck.objects.filter(pk=invoice.pk).update(passed=not problems, error_count=len(problems))


def test_the_panel_shows_the_stored_checks_problems(demo, make_invoice, healthcode_sandbox):
    """An up-to-date stored check is what the panel shows: it does not check the bill again."""
    invoice = make_invoice()
    _stored(invoice, ("Diagnosis", "A problem only the stored check knows"))
    page = _client().get(f"/invoices/{invoice.pk}/").content.decode()
    assert "A problem only the stored check knows" in page and "Stored suggestion" in page
    assert "1 problem" in page and 'id="submit-healthcode" disabled' in page
    assert "has not been checked with Bupa" not in page  # the live check's advice: not read


def test_a_stale_stored_check_is_checked_again_first(demo, make_invoice, healthcode_sandbox):
    from openpractice.healthcode.models import InvoiceCheck

    invoice = make_invoice()
    _stored(invoice, ("Diagnosis", "A problem only the stored check knows"))
    InvoiceCheck.objects.filter(pk=invoice.pk).update(stale=True)
    page = _client().get(f"/invoices/{invoice.pk}/").content.decode()
    assert "A problem only the stored check knows" not in page
    assert "has not been checked with Bupa" in page  # the check's own advice, stored again
    assert not InvoiceCheck.objects.get(pk=invoice.pk).stale


def test_the_panel_reads_two_rows_not_the_bills_facts(demo, make_invoice, healthcode_sandbox):
    """With its stored check up to date the panel reads the check and its problems: nothing the
    rules read (code sets, insurer rules, membership answers), and fewer queries than checking."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from openpractice.healthcode.models import InvoiceCheck

    invoice = make_invoice()
    client = _client()
    InvoiceCheck.objects.filter(pk=invoice.pk).update(stale=True)
    with CaptureQueriesContext(connection) as checking:
        assert client.get(f"/invoices/{invoice.pk}/").status_code == 200
    with CaptureQueriesContext(connection) as stored:
        assert client.get(f"/invoices/{invoice.pk}/").status_code == 200
    sql = " ".join(q["sql"] for q in stored.captured_queries)
    assert "healthcode_membershipcheck" not in sql and "healthcode_insurerrules" not in sql
    assert "coding_code" not in sql.lower()
    assert sum("healthcode_invoicecheck" in q["sql"] for q in stored.captured_queries) == 2
    assert len(stored.captured_queries) < len(checking.captured_queries)


def test_a_bill_on_its_way_or_settled_is_not_checked(demo, make_invoice, monkeypatch):
    """The panel shows the pre-submission check only while the bill can be submitted again: a
    collected bill's page neither checks it live nor reads a stored check (issue 18)."""
    from openpractice.billing.models import Invoice
    from openpractice.healthcode import stored_checks
    from openpractice.healthcode.templatetags import healthcode as tags

    invoice = make_invoice()
    Invoice.objects.filter(pk=invoice.pk).update(healthcode_status="collected")

    def refuse(**kwargs):
        raise AssertionError("checked a bill the page shows no check for")

    monkeypatch.setattr(tags, "check_invoice", refuse)
    monkeypatch.setattr(stored_checks, "stored_result", refuse)
    page = _client().get(f"/invoices/{invoice.pk}/").content.decode()
    assert 'id="check-h"' in page and "Pre-submission check" not in page and "submit-healthcode" not in page
