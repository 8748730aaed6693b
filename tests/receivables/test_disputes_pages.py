"""The insurer dispute pages at the edge: the list and one dispute with its letter, the steps as
forms, capabilities (a receptionist is refused, only an approver writes off) and another
practice's dispute a 404; the shortfalls page shows the classification and takes an override."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from openpractice.practices.roles import Role

TODAY = dt.date.today()


@pytest.fixture
def biller_client(world, client_for):
    return client_for(world.user)


def test_the_list_and_the_letter(biller_client, underpaid):
    html = biller_client.get(reverse("receivables:disputes")).content.decode()
    assert underpaid.invoice.number in html and "£50.00" in html and "Raised" in html
    html = biller_client.get(reverse("receivables:dispute", args=[underpaid.pk])).content.decode()
    assert "Difference owed:       £50.00" in html and "Contract price:        £250.00" in html
    assert underpaid.remittance_line.batch.payment_reference in html


def test_steps_as_forms(world, biller_client, underpaid):
    url = reverse("receivables:dispute", args=[underpaid.pk])
    response = biller_client.post(url, {"action": "sent", "sent-note": "Emailed the claims team"})
    assert response.status_code == 302
    response = biller_client.post(url, {"action": "patient", "patient-note": ""})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    response = biller_client.post(url, {"action": "patient", "patient-note": "Excess confirmed by phone"})
    assert response.status_code == 302
    underpaid.refresh_from_db()
    assert underpaid.kind == "patient" and underpaid.dispute.status == "patient"
    # Resolved: off the open list, on the resolved one.
    assert underpaid.invoice.number not in biller_client.get(reverse("receivables:disputes")).content.decode()
    html = biller_client.get(reverse("receivables:disputes") + "?status=resolved").content.decode()
    assert underpaid.invoice.number not in html  # the patient's now: no longer an underpayment


def test_writing_off_needs_an_approver(world, biller_client, underpaid, client_for, make_member):
    url = reverse("receivables:dispute", args=[underpaid.pk])
    assert biller_client.post(url, {"action": "write_off", "write_off-note": "Too small"}).status_code == 403
    owner = client_for(make_member(world.practice, Role.OWNER))
    assert owner.post(url, {"action": "write_off", "write_off-note": "Too small to chase"}).status_code == 302
    underpaid.invoice.refresh_from_db()
    assert underpaid.invoice.written_off_total == Decimal("50.00")


def test_capability_and_tenancy(world, underpaid, client_for, make_member, other_practice):
    receptionist = client_for(make_member(world.practice, Role.RECEPTIONIST))
    assert receptionist.get(reverse("receivables:disputes")).status_code == 403
    stranger = client_for(make_member(other_practice, Role.OWNER))
    assert stranger.get(reverse("receivables:dispute", args=[underpaid.pk])).status_code == 404


def test_the_shortfalls_page_shows_the_classification_and_takes_an_override(world, biller_client, underpaid):
    html = biller_client.get(reverse("remittances:shortfalls")).content.decode()
    assert "Insurer underpayment" in html
    line = underpaid.remittance_line
    url = reverse("remittances:override", args=[line.pk])
    response = biller_client.post(url, {"kind": "patient", "reason": ""})
    assert response.status_code == 302
    underpaid.refresh_from_db()
    assert underpaid.kind == "underpayment"  # refused without a reason
    biller_client.post(url, {"kind": "patient", "reason": "Policy excess confirmed"})
    underpaid.refresh_from_db()
    assert underpaid.kind == "patient" and underpaid.overridden_by == world.user


def test_the_letter_as_a_pdf(biller_client, underpaid):
    response = biller_client.get(reverse("receivables:dispute_pdf", args=[underpaid.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
