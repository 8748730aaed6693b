"""Check membership on the patient's page (healthcode's view and button, shown by the patients
page through healthcode's template tag)."""

import datetime as dt

from openpractice.patients import services

BORN = dt.date(1980, 4, 12)


def _patient(practice, first="Oliver", last="Bennett", **extra):
    return services.create_patient(
        practice=practice, data={"first_name": first, "last_name": last, "date_of_birth": BORN, **extra}
    )


def _insure(patient, contact, number, **extra):
    return services.add_relationship(
        patient=patient,
        data={
            "relationship_type": "insurance",
            "related_contact": contact,
            "related_patient": None,
            "registration_number": number,
            **extra,
        },
    )


def test_check_membership_seam_never_fakes(owner_client, practice, insurer_contact):
    patient = _patient(practice)
    rel = _insure(patient, insurer_contact(practice, "bup"), "10000001")
    html = owner_client.post(
        f"/patients/{patient.id}/relationships/{rel.id}/check-membership/", follow=True
    ).content.decode()
    assert "Available once Healthcode is set up" in html
