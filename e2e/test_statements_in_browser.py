"""Statements (issue 16): from accounts owing a biller ticks two patients and sends statements;
the run's page says one was emailed (PDF attached) and one is to post; each account's activity
shows its statement; the statement downloads as a PDF from the account."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import expect

from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD, DEMO_PRACTICE, seed_collections

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_statements_from_accounts_owing(page, live_server, login, screenshot, console_errors, tmp_path):
    from openpractice.accounts.models import User
    from openpractice.patients.models import Patient
    from openpractice.practices.models import Practice
    from openpractice.receivables.models import AccountActivity

    call_command("load_reference_codes")
    call_command("seed_demo", "--no-history")
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    seed_collections(practice=practice, biller=User.objects.get(email="billing@demo.openpractice.test"))
    grace = Patient.objects.get(practice=practice, last_name="Hughes")  # has an email address
    harry = Patient.objects.get(practice=practice, last_name="Evans")  # has none: to post
    login("billing@demo.openpractice.test", DEMO_PASSWORD)

    page.goto(f"{live_server.url}/collections/accounts/")
    expect(page.get_by_role("heading", name="Statements")).to_be_visible()
    page.get_by_role("checkbox", name="Select Grace Hughes").check()
    page.get_by_role("checkbox", name="Select Harry Evans").check()
    button = page.get_by_role("button", name="Send statements to 2 selected")
    expect(button).to_be_visible()
    screenshot(page, "statements-accounts-owing")
    button.click()

    expect(page.get_by_role("heading", name="Done")).to_be_visible()
    expect(page.locator("#statements-emailed")).to_have_text("1")
    expect(page.locator("#statements-to-post")).to_have_text("1")
    screenshot(page, "statements-run")
    [message] = mail.outbox
    assert message.to == ["grace.hughes@example.com"] and message.attachments[0][1].startswith(b"%PDF")
    with page.expect_download() as posted:
        page.get_by_role("button", name=re.compile("Download the 1 to post")).click()
    assert Path(posted.value.path()).read_bytes().startswith(b"%PDF")

    for patient, said in ((grace, "Statement emailed"), (harry, "Statement to post")):
        page.goto(f"{live_server.url}/patients/{patient.pk}/account/")
        expect(page.locator("#activity")).to_contain_text(said)
    assert AccountActivity.objects.filter(kind="statement_sent").count() == 2

    # The account downloads its statement as a PDF.
    page.goto(f"{live_server.url}/patients/{grace.pk}/account/")
    screenshot(page, "statements-account")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download statement (PDF)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("statement-") and saved.read_bytes().startswith(b"%PDF")
    assert console_errors == []
