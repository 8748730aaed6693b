"""Pages and API: roles, another practice's objects are 404, file import with preview, errors
naming the field, reports and their CSV."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from remit_helpers import bundle, dumps, receive

from openpractice.remittances.models import Allocation, LineStatus, PendingImport, RemittanceBatch


@pytest.fixture
def biller_client(world, client_for):
    return client_for(world.user)


def test_pages_render_and_show_outcomes(world, biller_client):
    paid, part = world.invoice(), world.invoice("Scan")
    batch = receive(
        world.practice, bundle([{"invoice": paid}, {"invoice": part, "paid": ["200.00"], "reason": "Benefit maximum"}])
    )
    page = biller_client.get("/remittances/").content.decode()
    assert batch.payment_reference in page and "Fetch from Healthcode now" in page
    page = biller_client.get(f"/remittances/{batch.pk}/").content.decode()
    assert "Part-paid" in page and "Move £50.00 to patient" in page and "Benefit maximum" in page
    page = biller_client.get(f"/invoices/{part.pk}/").content.decode()
    assert "Remittance" in page and "shortfall £50.00" in page
    answer = biller_client.post(f"/remittances/lines/{batch.lines.get(invoice=part).pk}/shortfall/")
    assert answer.status_code == 302
    page = biller_client.get(f"/invoices/{part.pk}/").content.decode()
    assert "Shortfall moved to the patient" in page
    answer = biller_client.post(f"/remittances/{batch.pk}/", {"bank_amount": "abc"})
    assert "enter an amount in pounds" in answer.content.decode()
    biller_client.post(f"/remittances/{batch.pk}/", {"bank_amount": "380.00"})
    assert "£-0.00" not in biller_client.get(f"/remittances/{batch.pk}/").content.decode()
    batch.refresh_from_db()
    assert batch.bank_difference == Decimal("0.00")
    for url in (
        "/reports/",
        "/reports/aged-debt/?by=patient",
        "/reports/bills/",
        "/reports/payments/",
        "/reports/days-to-payment/",
        "/remittances/review/",
        "/remittances/shortfalls/",
        "/remittances/import/",
    ):
        assert biller_client.get(url).status_code == 200, url


def test_review_queue_match_by_hand(world, biller_client):
    invoice = world.invoice()
    world.invoice()
    batch = receive(world.practice, bundle([{"invoice": invoice, "number": "ZZZ"}]))
    line = batch.lines.get()
    page = biller_client.get("/remittances/review/").content.decode()
    assert "same registration number" in page and invoice.number in page
    biller_client.post(f"/remittances/lines/{line.pk}/match/", {"invoice_number": invoice.number})
    line.refresh_from_db()
    assert line.status == LineStatus.ALLOCATED and line.invoice_id == invoice.pk


def test_only_billing_posts(world, receptionist_client, practice):
    invoice = world.invoice()
    batch = receive(world.practice, bundle([{"invoice": invoice, "paid": ["100.00"]}]))
    line = batch.lines.get()
    assert receptionist_client.get(f"/remittances/{batch.pk}/").status_code == 200
    assert receptionist_client.post(f"/remittances/lines/{line.pk}/shortfall/").status_code == 403
    assert receptionist_client.post("/remittances/fetch/").status_code == 403
    assert receptionist_client.get("/remittances/import/").status_code == 403


def test_another_practices_objects_are_404(world, other_owner, client_for, api_token_for, other_practice):
    invoice = world.invoice()
    batch = receive(world.practice, bundle([{"invoice": invoice, "paid": ["100.00"]}]))
    line = batch.lines.get()
    allocation = Allocation.objects.get(invoice=invoice)
    other = client_for(other_owner)
    assert other.get(f"/remittances/{batch.pk}/").status_code == 404
    assert other.post(f"/remittances/lines/{line.pk}/shortfall/").status_code == 404
    assert other.post(f"/remittances/allocations/{allocation.pk}/reverse/", {"reason": "x"}).status_code == 404
    headers = api_token_for(other_owner, other_practice)
    assert other.get(f"/api/v1/remittances/{batch.pk}", **headers).status_code == 404
    assert (
        other.post(
            f"/api/v1/allocations/{allocation.pk}/reverse",
            json.dumps({"reason": "x"}),
            content_type="application/json",
            **headers,
        ).status_code
        == 404
    )
    assert other.get("/api/v1/reports/aged-debt", **headers).json()["totals"]["total"] == "0.00"
    assert Allocation.objects.filter(invoice=invoice).count() == 1


def test_fhir_file_import_with_preview_and_duplicate(world, biller_client):
    invoice = world.invoice()
    content = dumps(bundle([{"invoice": invoice}])).encode()
    upload = lambda: __import__("django.core.files.uploadedfile", fromlist=["x"]).SimpleUploadedFile(  # noqa: E731
        "remit.json", content, content_type="application/json"
    )
    page = biller_client.post("/remittances/import/", {"kind": "fhir", "file": upload()}).content.decode()
    assert "Preview: remit.json" in page and invoice.number in page
    assert not RemittanceBatch.objects.exists()  # the preview posts nothing
    answer = biller_client.post(f"/remittances/import/{PendingImport.objects.get().pk}/confirm/")
    assert answer.status_code == 302
    invoice.refresh_from_db()
    assert invoice.balance == 0
    page = biller_client.post("/remittances/import/", {"kind": "fhir", "file": upload()}).content.decode()
    assert "received already" in page


def test_csv_import_names_bad_rows_and_posts_nothing(world, biller_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    a, b = world.invoice(), world.invoice("Scan")
    bad = f"Invoice,Paid,Invoiced,Reason\n{a.number},180.00,180.00,\n{b.number},lots,250.00,\n".encode()
    form = {
        "kind": "csv",
        "payment_reference": "BACS-CSV-1",
        "insurer_identifier": "bup",
        "column_invoice_number": "Invoice",
        "column_amount_paid": "Paid",
        "column_amount_invoiced": "Invoiced",
        "column_shortfall_reason": "Reason",
    }
    page = biller_client.post(
        "/remittances/import/", {**form, "file": SimpleUploadedFile("r.csv", bad)}
    ).content.decode()
    assert "row 3" in page and "“lots” is not an amount in pounds" in page
    assert not RemittanceBatch.objects.exists() and not Allocation.objects.exists()
    good = f"Invoice,Paid,Invoiced,Reason\n{a.number},180.00,180.00,\n{b.number},200.00,250.00,Excess\n".encode()
    biller_client.post("/remittances/import/", {**form, "file": SimpleUploadedFile("r.csv", good)})
    biller_client.post(f"/remittances/import/{PendingImport.objects.get().pk}/confirm/")
    batch = RemittanceBatch.objects.get()
    assert batch.payment_amount == Decimal("380.00") and batch.source == "csv_file"
    b.refresh_from_db()
    assert b.balance == Decimal("50.00")
    assert batch.lines.get(invoice=b).shortfall_reason == "Excess"


def test_api_import_match_reverse_and_reports(world, api_token_for, client_for):
    headers = api_token_for(world.user, world.practice)
    client = client_for(world.user)
    invoice = world.invoice()
    body = bundle([{"invoice": invoice, "paid": ["150.00"], "reason": "Benefit maximum"}])
    encoded = base64.b64encode(dumps(body).encode()).decode()
    post = lambda url, data: client.post(url, json.dumps(data), content_type="application/json", **headers)  # noqa: E731
    preview = post("/api/v1/remittances/import", {"kind": "fhir", "content_base64": encoded, "preview": True})
    assert preview.status_code == 200 and preview.json()["lines"] == 1
    created = post("/api/v1/remittances/import", {"kind": "fhir", "content_base64": encoded})
    assert created.status_code == 201, created.content
    line = created.json()["lines"][0]
    assert line["outcome"] == "part_paid" and line["shortfall"] == "30.00"
    bad = post("/api/v1/remittances/import", {"kind": "fhir", "content_base64": "!!"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "content_base64"]
    allocations = client.get(f"/api/v1/allocations?invoice_id={invoice.pk}", **headers).json()
    assert [a["amount"] for a in allocations] == ["150.00"]
    debt = client.get("/api/v1/reports/aged-debt", **headers).json()
    assert debt["totals"]["total"] == "30.00"
    missing = post(f"/api/v1/allocations/{allocations[0]['id']}/reverse", {})
    assert missing.status_code == 422
    reversed_ = post(f"/api/v1/allocations/{allocations[0]['id']}/reverse", {"reason": "wrong"})
    assert reversed_.status_code == 201 and reversed_.json()["amount"] == "-150.00"
    assert client.get("/api/v1/reports/aged-debt", **headers).json()["totals"]["total"] == "180.00"
    transfer = post(f"/api/v1/remittance-lines/{line['id']}/shortfall-transfer", {})
    assert transfer.status_code == 422 and transfer.json()["detail"][0]["loc"] == ["body", "status"]
    payments = client.get("/api/v1/reports/payments", **headers).json()
    assert sum(Decimal(p["amount"]) for p in payments) == Decimal("0.00")


def test_reports_csv_matches_the_ledger(world, biller_client):
    a, b = world.invoice(), world.invoice("Scan")
    receive(world.practice, bundle([{"invoice": a, "paid": ["100.00"]}, {"invoice": b}]))
    csv_text = b"".join(biller_client.get("/reports/aged-debt/?format=csv").streaming_content).decode()  # streamed
    assert csv_text.splitlines()[0].startswith("Insurer,0-30,31-60,61-90,90+,Total")
    assert "Total,80.00,0.00,0.00,0.00,80.00,1" in csv_text
    payments = biller_client.get("/reports/payments/?format=csv").content.decode()
    assert "Bupa,Remittance,350.00" in payments
    bills = biller_client.get("/reports/bills/?format=csv").content.decode()
    assert "Not submitted,2,430.00,80.00" in bills
    days = biller_client.get("/reports/days-to-payment/?format=csv").content.decode()
    assert "Bupa,2,0.0,0,0" in days
    page = biller_client.get("/reports/aged-debt/").content.decode()
    assert 'class="seg b0' in page and "£80.00" in page
