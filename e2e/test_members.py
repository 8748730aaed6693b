"""In a browser: the owner invites someone new, who sets a password from the emailed link and
joins; the owner then sees in Settings > Read log that the newcomer opened a patient."""

import re

import pytest
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import expect

from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_invite_accept_and_read_log(page, live_server, login, screenshot, console_errors):
    call_command("seed_demo")
    login("owner@demo.openpractice.test", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/settings/users/")
    page.get_by_role("button", name="Invite user").click()
    page.get_by_label("Email address").fill("newcomer@example.test")
    page.get_by_label("Their name").fill("Nia Newcomer")
    page.get_by_label("Role").select_option("receptionist")
    screenshot(page, "members-01-invite")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".flash-success")).to_have_text("Invitation sent to newcomer@example.test.")
    expect(page.locator("main")).to_contain_text("Pending invitations")
    expect(page.get_by_role("button", name="Resend the invitation to newcomer@example.test")).to_be_visible()
    screenshot(page, "members-02-pending")

    link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)
    page.context.clear_cookies()
    page.goto(link)
    expect(page.get_by_role("heading", name="Join Harley Street Demo Clinic")).to_be_visible()
    expect(page.get_by_label("Your full name")).to_have_value("Nia Newcomer")
    page.get_by_label("Choose a password").fill("a-long-new-password")
    page.get_by_label("The same password again").fill("a-long-new-password")
    screenshot(page, "members-03-accept")
    page.get_by_role("button", name="Set password and join").click()
    expect(page.locator(".flash-success")).to_contain_text("you have joined Harley Street Demo Clinic")
    login("newcomer@example.test", "a-long-new-password")
    page.goto(f"{live_server.url}/patients/?q=Bennett")
    page.get_by_role("link", name=re.compile("BENNETT")).click()
    expect(page.locator("main")).to_contain_text("Oliver")

    page.context.clear_cookies()
    page.goto(link)
    expect(page.get_by_role("heading", name="This invitation cannot be used")).to_be_visible()
    login("owner@demo.openpractice.test", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/settings/practice/")
    page.locator("nav.tabs").get_by_role("link", name="Read log", exact=True).click()
    expect(page.locator("table.data")).to_contain_text("Nia Newcomer")
    expect(page.locator("table.data")).to_contain_text("Oliver Bennett")
    page.get_by_label("Kind").select_option("invoice_pdf")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name="Nothing matches these filters")).to_be_visible()
    screenshot(page, "members-04-read-log")
    # The used link's page answers 410 Gone on purpose; the browser reports that status, nothing else.
    assert [e for e in console_errors if "410 (Gone)" not in e] == []
