"""Contacts: types, the insurer's Healthcode identifier (Insurance), search, archive, pages and API."""

import pytest

from openpractice.coding.selectors import find_insurer
from openpractice.contacts import services
from openpractice.contacts.errors import ContactError
from openpractice.contacts.models import Contact
from openpractice.contacts.selectors import search_contacts


def test_insurer_needs_directory_entry(practice, insurer_contact):
    with pytest.raises(ContactError, match="Healthcode identifier \\(Insurance\\)") as exc:
        services.create_contact(practice=practice, data={"contact_type": "insurer", "name": "Bupa"})
    assert exc.value.field == "insurer"
    contact = insurer_contact(practice, "bup")
    assert contact.insurer.healthcode_identifier == "bup"


def test_non_insurer_drops_insurer_and_validates(practice):
    gp = services.create_contact(
        practice=practice,
        data={
            "contact_type": "gp",
            "name": "Dr Ward",
            "insurer": find_insurer(practice=practice, healthcode_identifier="bup"),
            "postcode": "nw15lt",
            "email": "WARD@nhs.net",
        },
    )
    assert gp.insurer is None and gp.postcode == "NW1 5LT" and gp.email == "ward@nhs.net"
    with pytest.raises(ContactError, match="UK postcode") as exc:
        services.create_contact(practice=practice, data={"contact_type": "other", "name": "X", "postcode": "nope"})
    assert exc.value.field == "postcode"


def test_search_archive(practice, insurer_contact):
    insurer_contact(practice, "bup")
    insurer_contact(practice, "ppp")
    gp = services.create_contact(practice=practice, data={"contact_type": "gp", "name": "Marylebone Health Centre"})
    assert [c.name for c in search_contacts(practice=practice, query="axa")] == ["AXA Health"]
    assert [c.name for c in search_contacts(practice=practice, query="ppp")] == ["AXA Health"]
    assert [c.name for c in search_contacts(practice=practice, query="health centre")] == ["Marylebone Health Centre"]
    services.set_archived(contact=gp, archived=True)
    assert "Marylebone Health Centre" not in [c.name for c in search_contacts(practice=practice)]


def test_page_create_shows_summary(owner_client, practice):
    bupa = find_insurer(practice=practice, healthcode_identifier="bup")
    page = owner_client.get("/contacts/new/").content.decode()
    assert 'role="combobox"' in page and "Healthcode identifier (Insurance)" in page
    response = owner_client.post(
        "/contacts/new/",
        {"contact_type": "insurer", "name": "Bupa", "insurer": str(bupa.pk), "phone": "0345 600 0000"},
        follow=True,
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0].startswith("/contacts/")
    assert "Healthcode identifier (Insurance)" in html and "bup" in html and "0345 600 0000" in html
    listing = owner_client.get("/contacts/?q=bup").content.decode()
    assert "Bupa" in listing


def test_page_error_keeps_input(owner_client, practice):
    response = owner_client.post(
        "/contacts/new/",
        {"contact_type": "insurer", "name": "Mystery Insurer", "insurer_search": "no such insurer", "phone": "0123"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'id="id_insurer_error"' in html
    assert 'value="Mystery Insurer"' in html and 'value="0123"' in html
    assert not Contact.objects.exists()


def test_typed_identifier_without_javascript(owner_client, practice):
    owner_client.post("/contacts/new/", {"contact_type": "insurer", "name": "Aviva", "insurer_search": "nuh"})
    assert Contact.objects.get().insurer.healthcode_identifier == "nuh"


def test_tenancy_and_permissions(
    insurer_contact, owner_client, client_for, other_owner, other_practice, receptionist, practice
):
    theirs = insurer_contact(other_practice, "bup")
    assert owner_client.get(f"/contacts/{theirs.id}/").status_code == 404
    assert owner_client.get(f"/contacts/{theirs.id}/edit/").status_code == 404
    assert owner_client.post(f"/contacts/{theirs.id}/archive/").status_code == 404
    assert client_for(receptionist).get("/contacts/").status_code == 200


def test_api(insurer_contact, client, owner, practice, other_owner, other_practice, api_token_for):
    headers = api_token_for(owner, practice)
    bad = client.post(
        "/api/v1/contacts",
        {"contact_type": "insurer", "name": "X", "healthcode_identifier": "zzz"},
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "healthcode_identifier"]
    made = client.post(
        "/api/v1/contacts",
        {"contact_type": "insurer", "name": "Vitality", "healthcode_identifier": "slh"},
        content_type="application/json",
        **headers,
    )
    assert made.status_code == 201 and made.json()["healthcode_identifier"] == "slh"
    assert client.get("/api/v1/contacts?q=vita", **headers).json()[0]["name"] == "Vitality"
    theirs = insurer_contact(other_practice, "bup")
    assert client.get(f"/api/v1/contacts/{theirs.id}", **headers).status_code == 404
    archived = client.post(
        f"/api/v1/contacts/{made.json()['id']}/archive", {"archived": True}, content_type="application/json", **headers
    )
    assert archived.json()["is_archived"] is True
