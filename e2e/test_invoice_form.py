"""Must show: the invoice form shows what a bill needs before it is saved. A consultant who owns the
practice (a practitioner with billing rights) opens New invoice: they are chosen, and only
practitioners are listed; a day case product makes the setting Daycase and shows the admission
date at once; the running total follows the quantity; Submit to Healthcode shows the bill's
summary and asks; confirmed, the bill reaches the sandbox clearing house (a real process)."""

import re

import pytest
from playwright.sync_api import expect

from e2e.conftest import IMMEDIATE_TASKS, demo_practice_on
from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _demo_practice_on(sandbox):
    from openpractice.practices.models import Membership
    from openpractice.practices.roles import Role

    practice = demo_practice_on(sandbox)
    # Dr Patel owns the practice: her practitioner details make her a practitioner, the owner's role
    # lets her bill (the practitioner role alone has no billing rights).
    Membership.objects.filter(practice=practice, user__email="dr.patel@demo.openpractice.test").update(role=Role.OWNER)
    return practice


def _serious_accessibility_problems(page) -> list[str]:
    """axe-core's serious and critical findings in the page's content (the shared layout around
    it, the sidebar, is scanned by the accessibility tests)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context="#main")
    return [
        f"{v['id']}: {v['help']}: " + "; ".join(n["html"][:160] for n in v["nodes"])
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def test_new_invoice_shows_what_the_bill_needs_and_submit_confirms(
    page, live_server, login, screenshot, console_errors, sandbox, settings
):
    from openpractice.healthcode.models import Submission

    settings.TASKS = IMMEDIATE_TASKS  # the worker's job runs as soon as the submission commits
    _demo_practice_on(sandbox)
    login("dr.patel@demo.openpractice.test", DEMO_PASSWORD)

    page.goto(f"{live_server.url}/patients/")
    page.get_by_role("link", name=re.compile("Bennett", re.I)).first.click()
    page.locator("nav.tabs").get_by_role("link", name="Invoices").click()
    page.get_by_role("button", name="New invoice").click()
    expect(page.locator("h1")).to_have_text("New invoice")

    # Herself, first and chosen; only the practice's practitioners (no owner, biller, receptionist).
    practitioner = page.locator("#id_practitioner")
    expect(practitioner.locator("option:checked")).to_have_text("Dr Asha Patel (0651978)")
    expect(practitioner.locator("option")).to_have_text(
        ["---------", "Dr Asha Patel (0651978)", "Dr Bilal Sample (0712345)", "Ms Carys Demo (0698765)"]
    )

    # A consultation room bill has no stay: no admission date. A day case product: Daycase, at once.
    setting = page.locator("#id_service_setting")
    admission = page.locator("#id_admission_date")
    expect(setting).to_have_value("consulting_room")
    expect(admission).to_be_hidden()
    expect(page.locator("#invoice-total")).to_have_text("£0.00")
    page.get_by_label("Line 1 product").select_option(label="Knee arthroscopy")
    expect(setting).to_have_value("daycase")
    expect(admission).to_be_visible()
    expect(page.locator("#invoice-total")).to_have_text("£950.00")  # Bupa's contract price

    # The running total follows the quantity.
    page.get_by_label("Line 1 quantity").fill("2")
    expect(page.locator("#invoice-total")).to_have_text("£1,900.00")
    page.get_by_label("Line 1 quantity").fill("1")
    expect(page.locator("#invoice-total")).to_have_text("£950.00")

    admission.fill(page.get_by_label("Line 1 date of service").input_value())
    diagnosis = page.get_by_label("Primary diagnosis (ICD-10)")
    diagnosis.fill("M17.1")
    page.locator("[role=option]").first.wait_for()
    page.locator("[role=option]").first.click()
    expect(page.locator("#invoice-total")).to_have_text("£950.00")
    screenshot(page, "invoice-form-01-day-case")
    assert _serious_accessibility_problems(page) == []
    page.get_by_role("button", name="Save invoice").click()

    expect(page.locator("h1")).to_contain_text("Invoice (draft, no number yet)")
    expect(page.locator("#balance")).to_have_text("£950.00")  # what the form showed
    page.get_by_role("button", name="Check membership with Bupa").click()
    expect(page.locator("#check-result")).to_contain_text("Passed")

    # Submit asks first, with the bill's summary and what will happen.
    page.get_by_role("button", name="Submit to Healthcode").click()
    expect(page.locator("h1")).to_contain_text("Submit invoice")
    summary = page.locator("#submit-summary")
    for shown in ("Oliver Bennett", "Bupa", "10000001", "Dr Asha Patel (0651978)", "Knee arthroscopy", "Daycase"):
        expect(summary).to_contain_text(shown)
    expect(page.locator("#submit-total")).to_have_text("£950.00")
    expect(page.locator("#submit-what-happens")).to_contain_text("sends the bill to Healthcode as version 1")
    screenshot(page, "invoice-form-02-confirm-submit")
    assert _serious_accessibility_problems(page) == []
    assert not Submission.objects.exists()  # nothing sent yet

    page.get_by_role("button", name="Send to Healthcode").click()
    expect(page.locator("#hc-status")).to_contain_text("Unprocessed")
    submission = Submission.objects.get()
    assert submission.bill_id  # the sandbox took the bill and gave it its id
    expect(page.locator("#submissions")).to_contain_text(submission.bill_id)
    assert console_errors == []
