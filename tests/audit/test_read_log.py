"""The read log: one event per record opened or export downloaded, none for lists, type-ahead or
failures, and a write that fails never fails the request."""

from __future__ import annotations

import logging

from django.db import connection

from openpractice.audit.models import ReadEvent


def _events(practice):
    return list(ReadEvent.objects.filter(practice=practice).order_by("id"))


def _only_event(practice):
    events = _events(practice)
    assert len(events) == 1, [(e.kind, e.label) for e in events]
    return events[0]


def test_opening_a_patient_writes_one_event(clinic, clinic_reception, browser_for, patient):
    assert browser_for(clinic_reception).get(f"/patients/{patient.pk}/").status_code == 200
    event = _only_event(clinic)
    assert (event.user, event.kind, event.object_type, event.object_id, event.via) == (
        clinic_reception,
        "patient",
        "patient",
        patient.pk,
        "page",
    )
    assert event.label == f"/patients/{patient.pk}/"


def test_opening_an_invoice_writes_one_event(clinic, clinic_biller, browser_for, invoice):
    assert browser_for(clinic_biller).get(f"/invoices/{invoice.pk}/").status_code == 200
    event = _only_event(clinic)
    assert (event.user, event.kind, event.object_type, event.object_id, event.via) == (
        clinic_biller,
        "invoice",
        "invoice",
        invoice.pk,
        "page",
    )


def test_downloading_an_invoice_pdf_writes_one_event(clinic, clinic_biller, browser_for, invoice):
    response = browser_for(clinic_biller).get(f"/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    event = _only_event(clinic)
    assert (event.user, event.kind, event.object_type, event.object_id, event.via) == (
        clinic_biller,
        "invoice_pdf",
        "invoice",
        invoice.pk,
        "export",
    )


def test_a_report_export_writes_one_event_and_the_report_page_none(clinic, clinic_biller, browser_for, invoice):
    browser = browser_for(clinic_biller)
    assert browser.get("/reports/aged-debt/?by=patient").status_code == 200
    assert _events(clinic) == []
    response = browser.get("/reports/aged-debt/?by=patient&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    event = _only_event(clinic)
    assert (event.user, event.kind, event.object_type, event.object_id, event.via) == (
        clinic_biller,
        "export",
        "report",
        None,
        "export",
    )
    assert event.label == "/reports/aged-debt/?by=patient&format=csv"


def test_api_reads_of_a_patient_and_an_invoice_write_one_event_each(
    client, clinic, clinic_biller, patient, invoice, api_token_for
):
    headers = api_token_for(clinic_biller, clinic)
    assert client.get(f"/api/v1/patients/{patient.pk}", **headers).status_code == 200
    event = _only_event(clinic)
    assert (event.user, event.kind, event.object_id, event.via) == (clinic_biller, "patient", patient.pk, "api")
    assert client.get(f"/api/v1/invoices/{invoice.pk}", **headers).status_code == 200
    events = _events(clinic)
    assert len(events) == 2
    assert (events[1].user, events[1].kind, events[1].object_id, events[1].via) == (
        clinic_biller,
        "invoice",
        invoice.pk,
        "api",
    )


def test_lists_type_ahead_and_static_write_nothing(
    client, clinic, clinic_biller, browser_for, patient, invoice, api_token_for
):
    browser = browser_for(clinic_biller)
    for url in (
        "/patients/",
        "/patients/?q=Bennett",
        "/patients/people-options/?q=Ben",
        "/invoices/",
        f"/patients/{patient.pk}/invoices/",
        f"/invoices/{invoice.pk}/status/",
        "/reports/bills/",
        "/static/css/app.css",
        "/",
    ):
        assert browser.get(url).status_code in (200, 204), url
    headers = api_token_for(clinic_biller, clinic)
    for url in ("/api/v1/patients?q=Bennett", "/api/v1/invoices", "/api/v1/reports/aged-debt"):
        assert client.get(url, **headers).status_code == 200, url
    assert _events(clinic) == []


def test_refusals_and_writes_are_not_reads(clinic, clinic_biller, browser_for, patient, make_practice, make_member):
    browser = browser_for(clinic_biller)
    assert browser.get("/patients/999999999/").status_code == 404
    elsewhere = make_practice("Elsewhere")
    outsider = browser_for(make_member(elsewhere, email="outsider@example.test"))
    assert outsider.get(f"/patients/{patient.pk}/").status_code == 404
    assert browser.post(f"/patients/{patient.pk}/").status_code in (200, 302, 405)
    assert ReadEvent.objects.count() == 0


def test_a_failed_write_is_logged_and_the_page_still_opens(clinic, clinic_reception, browser_for, patient, caplog):
    # A real failure: the table is not there (renamed inside the test's transaction, undone after).
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_readevent RENAME TO audit_readevent_away")
    with caplog.at_level(logging.ERROR, logger="openpractice.audit.services"):
        response = browser_for(clinic_reception).get(f"/patients/{patient.pk}/")
    assert response.status_code == 200 and b"Bennett" in response.content
    assert "Read log: could not record patient" in caplog.text
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_readevent_away RENAME TO audit_readevent")
    assert ReadEvent.objects.count() == 0


def test_one_insert_per_read(clinic, clinic_reception, browser_for, patient):
    """The log costs one statement per record opened: an INSERT, no look-ups."""
    from django.test.utils import CaptureQueriesContext

    browser = browser_for(clinic_reception)
    with CaptureQueriesContext(connection) as captured:
        assert browser.get(f"/patients/{patient.pk}/").status_code == 200
    audit_sql = [q["sql"] for q in captured.captured_queries if "audit_readevent" in q["sql"]]
    assert len(audit_sql) == 1 and audit_sql[0].upper().startswith("INSERT")
    assert ReadEvent.objects.filter(practice=clinic).count() == 1
