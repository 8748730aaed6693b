"""Must show (issue 17, the monthly consultant report): the bureau's biller opens a consultant's
month, downloads its PDF and CSV, and sends it; the consultant, signed in, sees their own practice's
report (and the one sent), and another practice's consultant sees only theirs."""

from __future__ import annotations

import pytest
from django.core import mail
from playwright.sync_api import expect

from openpractice.practices.roles import Role
from openpractice.reports import consultant_services
from tests.reports.consultant_world import NOVEMBER, november

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "x" * 12


def test_a_biller_sends_the_month_and_each_consultant_sees_only_their_own(
    page, live_server, login, screenshot, make_practice, make_member
):
    alpha = make_practice("Mr Sam Surgeon (Orthopaedics)", address_line1="1 Harley Street", city="London")
    beta = make_practice("Dr Jo Heart (Cardiology)")
    world = november(alpha, email="sam.surgeon@example.test")
    november(beta, email="jo.heart@example.test", full_name="Dr Jo Heart")
    consultant_services.set_fee_agreement(
        practice=alpha, kind="percentage", percentage="7.5", monthly_fee=None, effective_from=NOVEMBER
    )
    consultant_services.set_recipients(practice=alpha, emails="sam.surgeon@example.test", send_monthly=True)
    biller = make_member(alpha, Role.BILLING, email="bea@bureau.test", full_name="Bea Bureau")
    biller.set_password(PASSWORD)
    biller.save()

    login("bea@bureau.test", PASSWORD)
    page.goto(f"{live_server.url}/reports/consultant/?month=2026-11")
    expect(page.get_by_role("heading", name="Consultant report: November 2026")).to_be_visible()
    expect(page.locator("#kpi-collected")).to_have_text("£520.00")
    expect(page.locator("#kpi-net")).to_have_text("£481.00")
    expect(page.locator("#collected-table")).to_contain_text("AXA Health")
    screenshot(page, "consultant-report-live")
    with page.expect_download() as pdf:
        page.locator("#download-pdf").click()
    assert pdf.value.suggested_filename == "consultant-report-2026-11.pdf"
    assert open(pdf.value.path(), "rb").read(4) == b"%PDF"
    with page.expect_download() as csv:
        page.locator("#download-csv").click()
    text = open(csv.value.path(), encoding="utf-8").read()
    assert "Net due to consultant,Collected less the bureau fee,,481.00" in text

    page.get_by_role("button", name="Send to consultant").click()
    expect(page.get_by_text("emailed to sam.surgeon@example.test")).to_be_visible()
    expect(page.locator("#report-status")).to_contain_text("Sent")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["sam.surgeon@example.test"]
    world.pay(world.invoice(NOVEMBER.replace(day=28), "60.00"), "60.00", NOVEMBER.replace(day=29))
    page.reload()
    expect(page.locator("#report-changes")).to_contain_text("£580.00")
    expect(page.locator("#kpi-collected")).to_have_text("£520.00")  # what was sent
    screenshot(page, "consultant-report-sent")

    page.context.clear_cookies()
    login("sam.surgeon@example.test", PASSWORD)
    page.goto(f"{live_server.url}/reports/consultant/?month=2026-11")
    expect(page.locator("#kpi-net")).to_have_text("£481.00")
    expect(page.locator("#report-history")).to_contain_text("November 2026")
    expect(page.get_by_role("button", name="Send again")).to_have_count(0)  # the consultant reads
    screenshot(page, "consultant-report-consultant")

    page.context.clear_cookies()
    login("jo.heart@example.test", PASSWORD)
    page.goto(f"{live_server.url}/reports/consultant/?month=2026-11")
    expect(page.get_by_text("Dr Jo Heart (Cardiology)").first).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Mr Sam Surgeon")
    expect(page.locator("#kpi-net")).to_have_text("£520.00")  # no fee agreed: their own figures
    expect(page.locator("#report-history")).to_have_count(0)  # Sam's sent report is not theirs


def test_the_bureau_takes_a_consultant_on_from_a_template_in_one_form(
    page, live_server, login, screenshot, make_practice, make_member
):
    from openpractice.contacts.models import Contact
    from openpractice.onboarding.models import Onboarding
    from openpractice.products.models import Product

    template = make_practice("Bureau template")
    Contact.objects.create(practice=template, contact_type="insurer", name="Bupa", name_key="bupa")
    Product.objects.create(
        practice=template, product_type="appointment", name="Consultation", name_key="consultation", list_price="200.00"
    )
    owner = make_member(template, Role.OWNER, email="lead@bureau.test", full_name="Lee Lead")
    owner.set_password(PASSWORD)
    owner.save()
    login("lead@bureau.test", PASSWORD)
    page.goto(f"{live_server.url}/onboarding/new/")
    page.get_by_label("Practice name").fill("Ms Ada Orthopaedics")
    page.get_by_label("Consultant's full name").fill("Ada Bone")
    page.get_by_label("Consultant's email").fill("ada@example.test")
    page.get_by_label("GMC number").fill("12")
    page.get_by_label("How the bureau charges").select_option("percentage")
    page.get_by_label("Percentage of collected").fill("8")
    screenshot(page, "onboarding-form")
    page.get_by_role("button", name="Create the practice and invite the consultant").click()
    expect(page.locator(".has-error")).to_contain_text("GMC")  # the field says what is wrong; nothing was made
    page.get_by_label("GMC number").fill("7654321")
    page.get_by_role("button", name="Create the practice and invite the consultant").click()
    expect(page.get_by_text("Ms Ada Orthopaedics is ready")).to_be_visible()
    expect(page.locator("#onboarded")).to_contain_text("1 insurer contacts")
    screenshot(page, "onboarding-done")
    assert Product.objects.filter(practice=Onboarding.objects.get().practice).count() == 1
