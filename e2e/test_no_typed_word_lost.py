"""No page drops what a person typed (issue 15), in the browser, trap by trap: type in one section,
press another section's button, and either everything is saved or the page says why it refuses.
Destructive buttons name what they remove and ask first. Screenshots in
test-results/screenshots/unsaved-*.png."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from openpractice.practices.roles import Role

PASSWORD = "correct-horse-battery"  # conftest.PASSWORD (the root conftest)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _choose(page, label: str, typed: str, option_text: str):
    """Type into a type-ahead and pick the option by click, as a user would."""
    box = page.get_by_role("combobox", name=label)
    box.fill(typed)
    option = page.locator(f"#{box.get_attribute('id')}_listbox li[role=option]", has_text=option_text).first
    option.wait_for(state="visible")
    option.click()


@pytest.fixture
def practice_with_bupa(make_practice, make_member):
    from openpractice.coding.selectors import find_insurer
    from openpractice.contacts.services import create_contact
    from openpractice.patients.services import create_patient

    practice = make_practice("Marylebone Orthopaedics")
    make_member(practice, Role.OWNER, email="manager@marylebone.test", full_name="Priya Manager")
    make_member(practice, Role.PRACTITIONER, email="mr.jones@marylebone.test", full_name="Mr Rhys Jones")
    bupa = create_contact(
        practice=practice,
        data={
            "contact_type": "insurer",
            "name": "Bupa",
            "insurer": find_insurer(practice=practice, healthcode_identifier="bup"),
        },
    )
    patient = create_patient(
        practice=practice, data={"first_name": "Oliver", "last_name": "Bennett", "date_of_birth": dt.date(1980, 4, 12)}
    )
    return practice, bupa, patient


def test_user_page_one_save_keeps_role_and_healthcode_identifier(
    page, live_server, login, screenshot, console_errors, practice_with_bupa
):
    """The tester's trap: the top Save saved the role and dropped the identifier typed below it."""
    from openpractice.accounts.models import PractitionerProfile
    from openpractice.practices.models import Membership

    login("manager@marylebone.test", PASSWORD)
    page.goto(f"{live_server.url}/settings/users/")
    page.get_by_role("link", name="Mr Rhys Jones").click()
    expect(page.get_by_role("button", name="Save", exact=True)).to_have_count(1)  # one Save for the page
    page.locator("#id_role").select_option("billing")
    page.get_by_label("Healthcode identifier").fill("0651978X")
    page.get_by_label("Specialty").fill("Trauma and orthopaedic surgery")
    page.get_by_role("button", name="Save", exact=True).click()
    # Refused together: the field is named, everything typed is still there, nothing saved.
    expect(page.locator("#not-saved")).to_contain_text("Nothing was saved. Correct Healthcode identifier below")
    expect(page.locator("#id_healthcode_identifier_error")).to_be_visible()
    expect(page.get_by_label("Specialty")).to_have_value("Trauma and orthopaedic surgery")
    expect(page.locator("#id_role")).to_have_value("billing")
    expect(page.locator(".flash-success")).to_have_count(0)
    screenshot(page, "unsaved-01-user-page-refused")
    membership = Membership.objects.get(user__email="mr.jones@marylebone.test")
    assert membership.role == Role.PRACTITIONER

    page.locator("#id_role").select_option("practitioner")
    page.get_by_label("Healthcode identifier").fill("0651978")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".flash-success")).to_have_text("Mr Rhys Jones saved.")
    expect(page.locator("main table.data").first).to_contain_text("0651978")
    profile = PractitionerProfile.objects.get(membership=membership)
    assert (profile.healthcode_identifier, profile.specialty) == ("0651978", "Trauma and orthopaedic surgery")
    screenshot(page, "unsaved-02-user-saved")
    assert console_errors == []


def test_patient_page_save_patient_keeps_the_relationship_typed_beside_it(
    page, live_server, login, screenshot, console_errors, practice_with_bupa
):
    """The tester's trap: "Save patient" (and "Add relationship") discarded a filled relationship."""
    from openpractice.patients.models import PatientRelationship

    _, _, patient = practice_with_bupa
    login("manager@marylebone.test", PASSWORD)
    page.goto(f"{live_server.url}/patients/{patient.id}/edit/")
    page.get_by_label("Phone").fill("07700 900101")
    page.get_by_label("Relationship type").select_option(label="Insurance provider")
    _choose(page, "Patient or contact name", "Bup", "Bupa")
    page.get_by_label("Registration number").fill("10000001")
    page.get_by_label("Authorisation code").fill("B123456")
    screenshot(page, "unsaved-03-patient-typed")
    page.get_by_role("button", name="Save patient").click()
    expect(page.locator("h1")).to_have_text("Oliver Bennett")
    flashes = page.locator(".flash-success")
    expect(flashes.first).to_have_text("Oliver Bennett saved.")
    expect(flashes.nth(1)).to_have_text("Relationship with Bupa saved (Insurance provider, membership 10000001).")
    expect(page.locator("main")).to_contain_text("07700 900101")
    expect(page.locator("main")).to_contain_text("B123456")
    screenshot(page, "unsaved-04-patient-saved-with-relationship")
    assert PatientRelationship.objects.get(patient=patient).registration_number == "10000001"

    # "Add relationship", the button Semble's set-up article names, saves it too and says so.
    page.get_by_role("button", name="Edit").click()
    page.get_by_label("Relationship type").select_option(label="Emergency contact")
    _choose(page, "Patient or contact name", "Bup", "Bupa")
    page.get_by_role("button", name="Add relationship").click()
    expect(page.locator(".flash-success")).to_have_text("Relationship with Bupa saved (Emergency contact).")
    expect(page.get_by_role("link", name="Remove Emergency contact Bupa")).to_be_visible()
    assert PatientRelationship.objects.filter(patient=patient).count() == 2
    assert console_errors == []


def test_patient_page_refuses_to_leave_with_a_relationship_half_typed(
    page, live_server, login, screenshot, console_errors, practice_with_bupa
):
    from openpractice.patients.models import Patient

    _, _, patient = practice_with_bupa
    login("manager@marylebone.test", PASSWORD)
    page.goto(f"{live_server.url}/patients/{patient.id}/edit/")
    page.get_by_label("Registration number").fill("10000001")
    # Another form on the page (the sidebar's Log out) is refused, saying which section and what to do.
    page.get_by_role("button", name="Log out").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Changes in “Edit Oliver Bennett” are not saved")
    expect(dialog).to_contain_text("press “Save patient” to keep it")
    screenshot(page, "unsaved-05-refused-log-out")
    page.get_by_role("button", name="Back to my changes").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_label("Registration number")).to_have_value("10000001")
    # A link away is refused the same way.
    page.locator("aside nav").get_by_role("link", name="Patients").click()
    expect(dialog).to_contain_text("opening “Patients” was stopped")
    expect(page).to_have_url(re.compile(rf"/patients/{patient.id}/edit/$"))
    page.get_by_role("button", name="Back to my changes").click()
    # Leaving another way (reload, back, closing the tab) gets the browser's own prompt.
    prompts = []

    def answer(dlg):
        prompts.append(dlg.type)
        dlg.dismiss()

    page.on("dialog", answer)
    page.get_by_label("First name").press("End")  # a gesture on the page: browsers prompt only after one
    page.evaluate("location.reload()")
    page.wait_for_timeout(300)
    assert prompts == ["beforeunload"]
    expect(page.get_by_label("Registration number")).to_have_value("10000001")
    page.remove_listener("dialog", answer)

    # Saving a half-typed relationship is refused by the server too, with everything kept.
    page.get_by_role("button", name="Save patient").click()
    expect(page.locator("#not-saved")).to_contain_text("Nothing was saved")
    expect(page.locator("#id_related_error")).to_be_visible()
    expect(page.get_by_label("Registration number")).to_have_value("10000001")
    screenshot(page, "unsaved-06-half-typed-refused")
    assert Patient.objects.get(pk=patient.pk).relationships.count() == 0
    # Discard, on purpose: then the link is followed.
    page.locator("aside nav").get_by_role("link", name="Patients").click()
    page.get_by_role("button", name="Discard my changes and continue").click()
    expect(page.locator("h1")).to_have_text("Patients")
    assert console_errors == []


def test_relationship_remove_asks_first_naming_the_membership(
    page, live_server, login, screenshot, console_errors, practice_with_bupa
):
    from openpractice.patients.models import PatientRelationship
    from openpractice.patients.services import add_relationship

    _, bupa, patient = practice_with_bupa
    add_relationship(
        patient=patient,
        data={
            "relationship_type": "insurance",
            "related_contact": bupa,
            "related_patient": None,
            "registration_number": "12345678",
        },
    )
    login("manager@marylebone.test", PASSWORD)
    page.goto(f"{live_server.url}/patients/{patient.id}/edit/")
    screenshot(page, "unsaved-07-patient-edit")
    page.get_by_role("link", name="Remove Bupa membership 12345678").click()
    expect(page.locator("h1")).to_have_text("Remove Bupa membership 12345678 from Oliver Bennett?")
    screenshot(page, "unsaved-08-remove-confirm")
    page.get_by_role("link", name="Keep it").click()
    assert PatientRelationship.objects.filter(patient=patient).count() == 1
    page.get_by_role("link", name="Remove Bupa membership 12345678").click()
    page.get_by_role("button", name="Remove Bupa membership 12345678").click()
    expect(page.locator(".flash-success")).to_have_text("Bupa membership 12345678 removed from Oliver Bennett.")
    assert not PatientRelationship.objects.filter(patient=patient).exists()
    assert console_errors == []


def test_product_page_refuses_archive_while_a_contract_price_is_typed(
    page, live_server, login, screenshot, console_errors, practice_with_bupa
):
    from openpractice.products.models import ContractPrice, Product
    from openpractice.products.services import create_product, set_contract_price

    practice, bupa, _ = practice_with_bupa
    product = create_product(
        practice=practice, data={"name": "Knee arthroscopy", "product_type": "procedure", "list_price": Decimal("1100")}
    )
    set_contract_price(product=product, insurer_contact=bupa, price=Decimal("950.00"), valid_from=dt.date(2026, 1, 1))
    login("manager@marylebone.test", PASSWORD)
    page.goto(f"{live_server.url}/products/{product.id}/")
    page.get_by_text("Add contract price").click()
    page.get_by_label("Contract price (£)").fill("990.00")
    page.get_by_role("button", name="Archive").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Changes in “Add contract price” are not saved")
    expect(dialog).to_contain_text("“Archive” was stopped")
    screenshot(page, "unsaved-09-product-archive-refused")
    page.get_by_role("button", name="Back to my changes").click()
    expect(page.get_by_label("Contract price (£)")).to_have_value("990.00")
    assert not Product.objects.get(pk=product.pk).is_archived

    page.get_by_role("link", name="Remove Bupa contract price £950.00 from 1 Jan 2026").click()
    page.get_by_role("button", name="Discard my changes and continue").click()
    expect(page.locator("h1")).to_have_text(
        "Remove the Bupa contract price £950.00 from 1 Jan 2026 from Knee arthroscopy?"
    )
    page.get_by_role("button", name="Remove Bupa contract price £950.00 from 1 Jan 2026").click()
    expect(page.locator(".flash-success")).to_contain_text("removed from Knee arthroscopy")
    assert not ContractPrice.objects.exists()
    assert console_errors == []
