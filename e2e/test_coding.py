"""The type-ahead, driven only by the keyboard, finds the right first result."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from openpractice.practices.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def owner_logged_in(login):
    from openpractice.accounts.models import User
    from openpractice.practices.models import Membership, Practice

    call_command("load_reference_codes")  # transactional tests flush the migration's data
    practice = Practice.objects.create(name="Keyboard Clinic")
    user = User.objects.create_user(email="keys@clinic.test", password=PASSWORD, full_name="Kay Board")
    Membership.objects.create(user=user, practice=practice, role=Role.OWNER)
    login("keys@clinic.test", PASSWORD)
    return user


@pytest.mark.parametrize(
    "label, query, expected",
    [
        ("Procedure code", "W8500", "W8500"),
        ("Procedure code", "W85", "W8500"),
        ("Procedure code", "knee arthroscopy", "W8520"),
        ("Diagnosis (ICD-10)", "type 2 diabetes", "E11"),
    ],
)
def test_keyboard_typeahead_first_result(
    page, live_server, owner_logged_in, screenshot, console_errors, label, query, expected
):
    page.goto(f"{live_server.url}/settings/coding/find/")
    box = page.get_by_role("combobox", name=label)
    box.focus()
    page.keyboard.type(query, delay=20)
    listbox = page.locator(f"#{box.get_attribute('aria-controls')}")
    # Wait for the reply to the whole query, not one to a prefix typed on the way.
    page.locator(f"#{box.get_attribute('aria-controls')}[data-answered-query='{query}']").wait_for(state="attached")
    listbox.get_by_role("option").first.wait_for(state="visible")
    assert box.get_attribute("aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    first = listbox.get_by_role("option").first
    assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")
    assert first.get_attribute("aria-selected") == "true"
    assert first.get_attribute("data-value").startswith(expected)
    screenshot(page, f"typeahead-{query.replace(' ', '-').lower()}")
    page.keyboard.press("Enter")
    assert box.get_attribute("aria-expanded") == "false"
    chosen = page.locator(f"#{box.get_attribute('id')}_value").input_value()
    assert chosen.startswith(expected)
    assert box.input_value().startswith(f"{chosen} — ")
    page.keyboard.press("Tab")
    assert console_errors == []


def test_keyboard_escape_no_match_and_submit(page, live_server, owner_logged_in, screenshot, console_errors):
    page.goto(f"{live_server.url}/settings/coding/find/")
    box = page.get_by_role("combobox", name="Procedure code")
    box.focus()
    page.keyboard.type("zzqx", delay=20)
    no_match = page.locator("#id_procedure_code_listbox .typeahead-empty")
    no_match.wait_for(state="visible")
    assert "No match" in no_match.inner_text()
    assert page.locator("#id_procedure_code_status").inner_text() == "No match"
    screenshot(page, "typeahead-no-match")
    page.keyboard.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"
    page.keyboard.press("Escape")
    assert box.input_value() == ""
    page.keyboard.type("W85", delay=20)
    page.locator("#id_procedure_code_listbox [role=option]").first.wait_for(state="visible")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")  # wraps to the last
    assert page.locator("#id_procedure_code_listbox [aria-selected=true]").get_attribute("data-value") == "W8520"
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # with the list closed, Enter submits the form
    expect(page.get_by_role("table", name="Chosen codes")).to_contain_text("W8520")
    assert page.get_by_role("table", name="Chosen codes").inner_text().count("W8520") == 1
    screenshot(page, "typeahead-chosen")
    assert console_errors == []


def test_settings_coding_pages_look_right(page, live_server, owner_logged_in, screenshot, console_errors):
    page.goto(f"{live_server.url}/settings/coding/")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text("Coding")
    screenshot(page, "coding-settings")
    page.goto(f"{live_server.url}/settings/coding/insurers/")
    expect(page.get_by_role("link", name="Bupa", exact=True)).to_be_visible()
    screenshot(page, "coding-insurers")
    page.goto(f"{live_server.url}/settings/coding/imports/new/")
    page.get_by_label("CSV file").set_input_files(
        files=[
            {
                "name": "bad.csv",
                "mimeType": "text/csv",
                "buffer": b"code,description,valid from\nW8500,Knee,2020-01-01\nW8500,Knee again,31/02/2020\n",
            }
        ]
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("nothing was changed").first).to_be_visible()
    screenshot(page, "coding-import-problems")
    page.goto(f"{live_server.url}/settings/coding/imports/new/")
    page.get_by_label("CSV file").set_input_files(
        files=[
            {
                "name": "good.csv",
                "mimeType": "text/csv",
                "buffer": b"CCSD code,Narrative\nW8500,Multiple arthroscopic operations on knee\nH2510,Rigid sigmoidoscopy\n",
            }
        ]
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("button", name="Apply these changes")).to_be_visible()
    screenshot(page, "coding-import-preview")
    page.get_by_role("button", name="Apply these changes").click()
    expect(page.get_by_text("Applied").first).to_be_visible()
    assert console_errors == []
