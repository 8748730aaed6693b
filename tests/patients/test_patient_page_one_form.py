"""The patient's edit page never drops a relationship typed beside the details: "Save patient"
and "Add relationship" both save it (or refuse, keeping every value); Remove confirms, naming it."""

import datetime as dt

import pytest
from django.db.models import ProtectedError

from openpractice.patients import services
from openpractice.patients.errors import PatientError
from openpractice.patients.models import PatientRelationship

BORN = dt.date(1980, 4, 12)
DETAILS = {"first_name": "Oliver", "last_name": "Bennett", "date_of_birth": "1980-04-12", "sex": "male"}


def _patient(practice):
    return services.create_patient(
        practice=practice, data={"first_name": "Oliver", "last_name": "Bennett", "date_of_birth": BORN}
    )


def _bupa(insurer_contact, practice):
    return insurer_contact(practice, "bup")


# -- service ----------------------------------------------------------------------------------
def test_details_and_relationship_saved_together(practice, insurer_contact):
    patient = _patient(practice)
    bupa = _bupa(insurer_contact, practice)
    saved, added = services.update_patient_and_add_relationship(
        patient=patient,
        data={**DETAILS, "date_of_birth": BORN, "phone": "07700 900101"},
        relationship={"relationship_type": "insurance", "related_contact": bupa, "registration_number": "10000001"},
    )
    assert saved.phone == "07700 900101" and added.registration_number == "10000001"


def test_refused_relationship_leaves_the_details_as_they_were(practice, insurer_contact):
    patient = _patient(practice)
    bupa = _bupa(insurer_contact, practice)
    with pytest.raises(PatientError) as exc:
        services.update_patient_and_add_relationship(
            patient=patient,
            data={**DETAILS, "date_of_birth": BORN, "phone": "07700 900101"},
            relationship={"relationship_type": "insurance", "related_contact": bupa, "registration_number": "1!"},
        )
    assert exc.value.field == "registration_number"
    patient.refresh_from_db()
    assert patient.phone == "" and not PatientRelationship.objects.exists()


def test_relationship_names_itself(practice, insurer_contact):
    patient = _patient(practice)
    rel = PatientRelationship(relationship_type="insurance", registration_number="12345678")
    rel.related_contact = _bupa(insurer_contact, practice)
    assert rel.name == "Bupa membership 12345678"
    rel = PatientRelationship(relationship_type="emergency", related_patient=patient)
    assert rel.name == "Emergency contact Oliver Bennett"


# -- page -------------------------------------------------------------------------------------
def test_save_patient_with_a_relationship_filled_in_saves_both(owner_client, practice, insurer_contact):
    patient = _patient(practice)
    bupa = _bupa(insurer_contact, practice)
    response = owner_client.post(
        f"/patients/{patient.id}/edit/",
        {
            **DETAILS,
            "phone": "07700 900101",
            "relationship_type": "insurance",
            "related": f"contact:{bupa.id}",
            "registration_number": "10000001",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Oliver Bennett saved." in html
    assert "Relationship with Bupa saved (Insurance provider, membership 10000001)." in html
    assert PatientRelationship.objects.get(patient=patient).registration_number == "10000001"


def test_save_patient_with_a_wrong_relationship_keeps_everything_and_saves_nothing(
    owner_client, practice, insurer_contact
):
    patient = _patient(practice)
    bupa = _bupa(insurer_contact, practice)
    response = owner_client.post(
        f"/patients/{patient.id}/edit/",
        {
            **DETAILS,
            "phone": "07700 900101",
            "relationship_type": "insurance",
            "related": f"contact:{bupa.id}",
            "registration_number": "1000!",
            "authorisation_code": "B123456",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved. Correct Registration number below" in html
    assert 'id="id_registration_number_error"' in html
    for kept in ('value="07700 900101"', 'value="1000!"', 'value="B123456"', 'value="Bupa"'):
        assert kept in html, kept
    assert "data-unsaved-dirty" in html
    patient.refresh_from_db()
    assert patient.phone == "" and not PatientRelationship.objects.exists()


def test_half_filled_relationship_is_refused_not_dropped(owner_client, practice):
    # Only a membership number typed: no one chosen. Save patient must not save the details and lose it.
    patient = _patient(practice)
    response = owner_client.post(
        f"/patients/{patient.id}/edit/", {**DETAILS, "phone": "0207", "registration_number": "10000001"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'value="10000001"' in html
    assert 'id="id_relationship_type_error"' in html and 'id="id_related_error"' in html
    patient.refresh_from_db()
    assert patient.phone == ""


def test_save_patient_with_nothing_in_the_relationship_saves_the_details(owner_client, practice):
    patient = _patient(practice)
    response = owner_client.post(f"/patients/{patient.id}/edit/", {**DETAILS, "phone": "0207 946 0000"})
    assert response.status_code == 302 and response["Location"] == f"/patients/{patient.id}/"
    patient.refresh_from_db()
    assert patient.phone == "0207 946 0000"


def test_add_relationship_button_saves_and_confirms(owner_client, practice, insurer_contact):
    patient = _patient(practice)
    bupa = _bupa(insurer_contact, practice)
    response = owner_client.post(
        f"/patients/{patient.id}/edit/",
        {
            **DETAILS,
            "add_relationship": "1",
            "relationship_type": "insurance",
            "related": f"contact:{bupa.id}",
            "registration_number": "10000001",
        },
    )
    assert response["Location"] == f"/patients/{patient.id}/edit/#relationships"
    html = owner_client.get(response["Location"]).content.decode()
    assert "Relationship with Bupa saved (Insurance provider, membership 10000001)." in html
    assert "Remove Bupa membership 10000001" in html


def test_add_relationship_with_nothing_filled_in_says_what_is_missing(owner_client, practice):
    patient = _patient(practice)
    response = owner_client.post(f"/patients/{patient.id}/edit/", {**DETAILS, "add_relationship": "1"})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="id_relationship_type_error"' in html
    assert not PatientRelationship.objects.exists()


def test_remove_asks_first_naming_the_membership(owner_client, practice, insurer_contact):
    patient = _patient(practice)
    rel = services.add_relationship(
        patient=patient,
        data={
            "relationship_type": "insurance",
            "related_contact": _bupa(insurer_contact, practice),
            "related_patient": None,
            "registration_number": "12345678",
        },
    )
    url = f"/patients/{patient.id}/relationships/{rel.id}/remove/"
    page = owner_client.get(url).content.decode()
    assert "Remove Bupa membership 12345678 from Oliver Bennett?" in page
    assert ">Remove Bupa membership 12345678</button>" in page
    assert PatientRelationship.objects.filter(pk=rel.pk).exists()  # GET never writes
    done = owner_client.post(url, follow=True).content.decode()
    assert "Bupa membership 12345678 removed from Oliver Bennett." in done
    assert not PatientRelationship.objects.filter(pk=rel.pk).exists()


def test_remove_of_a_membership_on_an_invoice_is_refused_with_the_reason(practice, insurer_contact, monkeypatch):
    patient = _patient(practice)
    rel = services.add_relationship(
        patient=patient,
        data={
            "relationship_type": "insurance",
            "related_contact": _bupa(insurer_contact, practice),
            "related_patient": None,
            "registration_number": "12345678",
        },
    )

    def protected(*args, **kwargs):
        raise ProtectedError("used", set())

    monkeypatch.setattr(PatientRelationship, "delete", protected)
    with pytest.raises(PatientError, match="Bupa membership 12345678 is on an invoice"):
        services.remove_relationship(relationship=rel)
