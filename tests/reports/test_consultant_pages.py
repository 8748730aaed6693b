"""The consultant report's pages and API: a login and a capability on each, the practice's own
figures only (another practice's consultant sees theirs, never these), the PDF and CSV downloads,
saving and sending from the page, and the settings form's errors at their fields."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core import mail
from django.test import Client

from openpractice.practices.roles import Role
from openpractice.reports import consultant_services
from openpractice.reports.consultant_models import ConsultantReport, FeeAgreement
from tests.reports.consultant_world import NOVEMBER, november

pytestmark = pytest.mark.django_db
URL = "/reports/consultant/?month=2026-11"


@pytest.fixture
def world(practice):
    built = november(practice, email="dr.sam@alpha.test")
    consultant_services.set_fee_agreement(
        practice=practice, kind="percentage", percentage="7.5", monthly_fee=None, effective_from=NOVEMBER
    )
    return built


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_consultant_sees_their_months_report(world):
    page = _client(world.doctor.user).get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("Consultant report: November 2026", "£600.00", "£520.00", "£39.00", "£481.00", "AXA Health", "Bupa"):
        assert text in html
    assert "Send to consultant" not in html and "Fee and recipients" not in html  # a practitioner only reads


def test_a_page_needs_a_login(world):
    assert Client().get(URL).status_code == 302


def test_another_practices_consultant_sees_only_their_own(world, other_practice, make_member):
    other = make_member(other_practice, Role.PRACTITIONER, email="dr.other@beta.test")
    html = _client(other).get(URL).content.decode()
    assert "Beta Clinic" in html and "Alpha Clinic" not in html and "£481.00" not in html and "AXA Health" not in html
    consultant_services.save_report(practice=world.practice, month=NOVEMBER)
    html = _client(other).get(URL).content.decode()
    assert "£481.00" not in html and "Saved" not in html  # A's saved report is not theirs
    response = _client(other).get("/api/v1/reports/consultant?month=2026-11")
    assert response.json()["practice"] == "Beta Clinic" and response.json()["collected_total"] == "0.00"


def test_the_pdf_and_csv_download(world, owner):
    client = _client(owner)
    pdf = client.get(URL + "&format=pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert 'filename="consultant-report-2026-11.pdf"' in pdf["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(client.get(URL + "&format=csv").content.decode())))
    assert rows[0] == ["Section", "Item", "Invoices", "Amount"]
    assert ["Collected", "Self-pay (patients)", "", "100.00"] in rows
    assert rows[-1] == ["Net due to consultant", "Collected less the bureau fee", "", "481.00"]


def test_a_month_that_is_not_one_shows_last_month_saying_so(world, owner):
    page = _client(owner).get("/reports/consultant/?month=2999-01")
    assert page.status_code == 200 and "showing last month instead" in page.content.decode()


def test_a_biller_saves_and_sends_and_a_practitioner_cannot(world, biller):
    doctor = _client(world.doctor.user)
    assert doctor.post("/reports/consultant/save/", {"month": "2026-11"}).status_code == 403
    assert doctor.post("/reports/consultant/send/", {"month": "2026-11"}).status_code == 403
    client = _client(biller)
    page = client.post("/reports/consultant/send/", {"month": "2026-11"}, follow=True)
    assert "Add the consultant" in page.content.decode() and not mail.outbox
    consultant_services.set_recipients(practice=world.practice, emails="dr.sam@example.com", send_monthly=True)
    page = client.post("/reports/consultant/send/", {"month": "2026-11"}, follow=True)
    html = page.content.decode()
    assert "emailed to dr.sam@example.com" in html and "Send again" in html and len(mail.outbox) == 1
    assert ConsultantReport.objects.get().sent_to == "dr.sam@example.com"
    world.pay(world.invoice(NOVEMBER.replace(day=28), "60.00"), "60.00", NOVEMBER.replace(day=29))
    html = client.get(URL).content.decode()
    assert "Changed since it was sent" in html and "£580.00" in html and "£520.00" in html


def test_settings_need_manage_settings_and_say_what_is_wrong(world, owner, biller):
    assert _client(biller).get("/reports/consultant/settings/").status_code == 403
    client = _client(owner)
    assert client.get("/reports/consultant/settings/").status_code == 200
    bad = client.post(
        "/reports/consultant/settings/",
        {"form": "fee", "kind": "percentage", "percentage": "", "effective_from": "2026-12"},
    )
    assert bad.status_code == 400 and "enter a percentage above 0" in bad.content.decode()
    bad = client.post("/reports/consultant/settings/", {"form": "fee", "kind": "fixed", "effective_from": "Dec"})
    assert bad.status_code == 400 and "Enter a month such as 2026-11" in bad.content.decode()
    good = client.post(
        "/reports/consultant/settings/",
        {"form": "fee", "kind": "fixed", "monthly_fee": "450", "effective_from": "2026-12"},
    )
    assert good.status_code == 302 and FeeAgreement.objects.filter(practice=world.practice).count() == 2
    bad = client.post("/reports/consultant/settings/", {"form": "recipients", "emails": "nope", "send_monthly": "on"})
    assert bad.status_code == 400 and "is not an email address" in bad.content.decode()
    good = client.post(
        "/reports/consultant/settings/", {"form": "recipients", "emails": "a@example.com\nb@example.com"}
    )
    assert good.status_code == 302


def test_the_api_reads_saves_and_sends(world, owner, practitioner, api_token_for):
    client = Client()
    reader = api_token_for(world.doctor.user, world.practice)
    body = client.get("/api/v1/reports/consultant?month=2026-11", **reader).json()
    assert body["status"] == "live" and body["collected_total"] == "520.00" and body["net_due"] == "481.00"
    assert body["outstanding"][0] == {
        "owed_by": "Insurers",
        "bands": {"0-30": "200.00", "31-60": "0.00", "61-90": "0.00", "90+": "80.00"},
        "total": "280.00",
    }
    assert client.get("/api/v1/reports/consultant?month=nope", **reader).status_code == 422
    post = dict(content_type="application/json")
    assert (
        client.post("/api/v1/reports/consultant/save", json.dumps({"month": "2026-11"}), **post, **reader).status_code
        == 403
    )
    writer = api_token_for(owner, world.practice)
    saved = client.post("/api/v1/reports/consultant/save", json.dumps({"month": "2026-11"}), **post, **writer)
    assert saved.status_code == 200 and saved.json()["status"] == "saved"
    refused = client.post("/api/v1/reports/consultant/send", json.dumps({"month": "2026-11"}), **post, **writer)
    assert refused.status_code == 422 and refused.json()["detail"][0]["type"] == "no_recipients"
    consultant_services.set_recipients(practice=world.practice, emails="dr.sam@example.com", send_monthly=True)
    sent = client.post("/api/v1/reports/consultant/send", json.dumps({"month": "2026-11"}), **post, **writer)
    assert sent.json()["status"] == "sent" and sent.json()["sent_to"] == "dr.sam@example.com"
    [listed] = client.get("/api/v1/reports/consultant/saved", **reader).json()
    assert listed["month"] == "2026-11" and listed["sent_to"] == "dr.sam@example.com"
