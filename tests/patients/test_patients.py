"""Patients: create/edit with NHS number validation, search by every key with keyset paging,
relationships with the insurers' published formats (page and API), tenancy, Check membership."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openpractice.patients import selectors, services
from openpractice.patients.errors import PatientError
from openpractice.patients.models import Patient, PatientRelationship

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


def test_nhs_number_validated_and_unique(practice):
    p = _patient(practice, nhs_number="943 476 5919")
    assert p.nhs_number == "9434765919" and p.nhs_number_display == "943 476 5919"
    with pytest.raises(PatientError, match="valid NHS number") as exc:
        _patient(practice, first="A", nhs_number="9434765918")
    assert exc.value.field == "nhs_number"
    with pytest.raises(PatientError, match="already has NHS number"):
        _patient(practice, first="B", nhs_number="9434765919")


@pytest.mark.parametrize(
    "data,field",
    [
        ({"date_of_birth": dt.date(2999, 1, 1)}, "date_of_birth"),
        ({"email": "nope"}, "email"),
        ({"postcode": "XYZ"}, "postcode"),
        ({"last_name": ""}, "last_name"),
    ],
)
def test_bad_patient_input_names_field(practice, data, field):
    with pytest.raises(PatientError) as exc:
        _patient(practice, **data)
    assert exc.value.field == field and not Patient.objects.exists()


def test_search_by_every_key(practice, insurer_contact):
    oliver = _patient(practice, phone="+44 7700 900101", email="Oliver.Bennett@example.com", nhs_number="9434765919")
    _patient(practice, first="Amelia", last="Clarke", date_of_birth=dt.date(1975, 9, 30), phone="07700 900102")
    _patient(practice, first="Olivia", last="O'Brien")
    _insure(oliver, insurer_contact(practice, "bup"), "10000001")

    def names(q):
        return [p.last_name for p in selectors.search_patients(practice=practice, query=q).patients]

    assert names("benn") == ["Bennett"]
    assert names("oliver bennett") == ["Bennett"] and names("Bennett, Ol") == ["Bennett"]
    assert names("obrien") == ["O'Brien"] and names("o'brien") == ["O'Brien"]
    assert names("30/09/1975") == ["Clarke"] and names("1975-09-30") == ["Clarke"]
    assert names("07700 900101") == ["Bennett"] and names("077009001") == ["Bennett", "Clarke"]
    assert names("oliver.bennett@") == ["Bennett"] and names("oliver.benn") == ["Bennett"]
    assert names("943 476 5919") == ["Bennett"]
    assert names("10000001") == ["Bennett"]
    assert names("") == ["Bennett", "Clarke", "O'Brien"]


def test_registration_search_mixed(practice, insurer_contact):
    p = _patient(practice)
    _insure(p, insurer_contact(practice, "ppp"), "AXA-AB123456")
    assert [x.id for x in selectors.search_patients(practice=practice, query="axa-ab1234").patients] == [p.id]


def test_keyset_paging_forwards_and_back(practice):
    Patient.objects.bulk_create(
        [
            Patient(
                practice=practice,
                first_name=f"P{i:03d}",
                last_name="Same",
                date_of_birth=BORN,
                last_name_key="same",
                first_name_key=f"p{i:03d}",
            )
            for i in range(60)
        ]
    )
    first = selectors.search_patients(practice=practice, limit=25)
    second = selectors.search_patients(practice=practice, after=first.next_cursor, limit=25)
    third = selectors.search_patients(practice=practice, after=second.next_cursor, limit=25)
    assert [p.first_name for p in second.patients][0] == "P025" and len(third.patients) == 10
    assert third.next_cursor is None
    back = selectors.search_patients(practice=practice, before=second.prev_cursor, limit=25)
    assert [p.id for p in back.patients] == [p.id for p in first.patients] and back.prev_cursor is None
    assert selectors.search_patients(practice=practice, after="garbage!").patients  # a bad cursor is page 1


def test_relationship_rules(practice, insurer_contact, named_insurer_contact):
    patient = _patient(practice)
    bupa_global = named_insurer_contact(practice, "Bupa Global")
    with pytest.raises(PatientError, match="Bupa Global registration numbers look like XX-NNNN-NNNN-NNNN") as exc:
        _insure(patient, bupa_global, "12345")
    assert exc.value.field == "registration_number"
    rel = _insure(patient, bupa_global, "bi-1234-5678-9012")
    assert rel.registration_number == "BI-1234-5678-9012"
    aviva = insurer_contact(practice, "nuh")
    with pytest.raises(PatientError, match="Aviva authorisation codes look like") as exc:
        _insure(patient, aviva, "100200300", authorisation_code="12/34")
    assert exc.value.field == "authorisation_code"
    rel = _insure(
        patient,
        aviva,
        "100200300",
        authorisation_code="123456/12",
        authorised_sessions=6,
        authorisation_expires=dt.date(2026, 12, 31),
    )
    assert rel.authorised_sessions == 6
    with pytest.raises(PatientError, match="insurer contact"):
        gp = services_contact(practice)
        _insure(patient, gp, "1234")
    with pytest.raises(PatientError, match="own relationship"):
        services.add_relationship(
            patient=patient,
            data={"relationship_type": "next_of_kin", "related_contact": None, "related_patient": patient},
        )


def services_contact(practice):
    from openpractice.contacts.services import create_contact

    return create_contact(practice=practice, data={"contact_type": "gp", "name": "Dr Ward"})


def test_vitality_member_number_refused(practice, insurer_contact):
    with pytest.raises(PatientError, match="Vitality member number"):
        _insure(_patient(practice), insurer_contact(practice, "slh"), "1212345678")


# -- pages --------------------------------------------------------------------------------------
def test_pages_add_summary_edit(owner_client, practice):
    response = owner_client.post(
        "/patients/new/",
        {
            "first_name": "Mia",
            "last_name": "Robinson",
            "date_of_birth": "1995-08-19",
            "sex": "female",
            "nhs_number": "",
            "postcode": "g1 1xq",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Relationships and emergency contacts" in html and "Add relationship" in html
    for label in ("Relationship type", "Patient or contact name", "Registration number", "Authorisation code"):
        assert f">{label}" in html
    patient = Patient.objects.get()
    summary = owner_client.get(f"/patients/{patient.id}/").content.decode()
    assert "G1 1XQ" in summary and "19/08/1995" in summary
    bad = owner_client.post(
        "/patients/new/",
        {
            "first_name": "X",
            "last_name": "Y",
            "date_of_birth": "1990-01-01",
            "sex": "male",
            "nhs_number": "1234567890",
            "phone": "0123 456",
        },
    )
    assert (
        bad.status_code == 200
        and "valid NHS number" in bad.content.decode()
        and 'value="0123 456"' in bad.content.decode()
    )


def test_wrong_registration_refused_in_page_and_nothing_lost(owner_client, practice, named_insurer_contact):
    patient = _patient(practice)
    alliance = named_insurer_contact(practice, "Alliance Health")
    response = owner_client.post(
        f"/patients/{patient.id}/relationships/",
        {
            "relationship_type": "insurance",
            "related": f"contact:{alliance.id}",
            "registration_number": "12345",
            "authorisation_code": "ABC12345",
            "authorised_sessions": "4",
            "authorisation_expires": "2026-12-31",
            "notes": "Card seen",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_registration_number_error"' in html
    assert "Alliance Health registration numbers look like NNNNNN, NNNNNNN or NNNNNNNN" in html
    for kept in (
        'value="12345"',
        'value="ABC12345"',
        'value="4"',
        'value="2026-12-31"',
        'value="Card seen"',
        f'value="contact:{alliance.id}"',
        'value="Alliance Health"',
    ):
        assert kept in html, kept
    assert not PatientRelationship.objects.exists()
    owner_client.post(
        f"/patients/{patient.id}/relationships/",
        {
            "relationship_type": "insurance",
            "related": f"contact:{alliance.id}",
            "registration_number": "1234567",
            "authorisation_code": "ABC12345",
        },
    )
    summary = owner_client.get(f"/patients/{patient.id}/").content.decode()
    assert "1234567" in summary and "ABC12345" in summary and "Check membership" in summary
    assert "available once Healthcode is set up" in summary


def test_people_options(owner_client, practice, insurer_contact):
    _patient(practice)
    insurer_contact(practice, "bup")
    html = owner_client.get("/patients/people-options/?q=b").content.decode()
    assert 'role="option"' in html and "Bupa" in html and "Bennett" in html


def test_tenancy(owner_client, other_practice, client, owner, practice, api_token_for, insurer_contact):
    theirs = _patient(other_practice)
    rel = _insure(theirs, insurer_contact(other_practice, "bup"), "10000001")
    for url in (f"/patients/{theirs.id}/", f"/patients/{theirs.id}/edit/"):
        assert owner_client.get(url).status_code == 404
    assert owner_client.post(f"/patients/{theirs.id}/relationships/{rel.id}/remove/").status_code == 404
    assert "BENNETT" not in owner_client.get("/patients/?q=benn").content.decode()
    assert "Bennett" not in owner_client.get("/patients/people-options/?q=benn").content.decode()
    headers = api_token_for(owner, practice)
    assert client.get(f"/api/v1/patients/{theirs.id}", **headers).status_code == 404
    mine = _patient(practice, first="Mine")
    answer = client.post(
        f"/api/v1/patients/{mine.id}/relationships",
        {"relationship_type": "emergency", "related_patient_id": theirs.id},
        content_type="application/json",
        **headers,
    )
    assert answer.status_code == 422


# -- API ----------------------------------------------------------------------------------------
def test_api(client, owner, practice, api_token_for, insurer_contact):
    headers = api_token_for(owner, practice)
    made = client.post(
        "/api/v1/patients",
        {
            "first_name": "Isla",
            "last_name": "Turner",
            "date_of_birth": "1990-07-21",
            "sex": "female",
            "postcode": "B1 1BB",
        },
        content_type="application/json",
        **headers,
    )
    assert made.status_code == 201
    pid = made.json()["id"]
    axa = insurer_contact(practice, "ppp")
    wrong = client.post(
        f"/api/v1/patients/{pid}/relationships",
        {"relationship_type": "insurance", "related_contact_id": axa.id, "registration_number": "12345"},
        content_type="application/json",
        **headers,
    )
    assert wrong.status_code == 422
    detail = wrong.json()["detail"][0]
    assert (
        detail["loc"] == ["body", "registration_number"]
        and "AXA Health registration numbers look like" in detail["msg"]
    )
    ok = client.post(
        f"/api/v1/patients/{pid}/relationships",
        {"relationship_type": "insurance", "related_contact_id": axa.id, "registration_number": "AX1234567B"},
        content_type="application/json",
        **headers,
    )
    assert ok.status_code == 201 and ok.json()["healthcode_identifier"] == "ppp"
    page = client.get("/api/v1/patients?q=AX1234567B", **headers).json()
    assert page["results"][0]["last_name"] == "Turner" and page["search_mode"] == "registration_number"
    bad_nhs = client.post(
        "/api/v1/patients",
        {"first_name": "A", "last_name": "B", "date_of_birth": "1990-01-01", "nhs_number": "1234567890"},
        content_type="application/json",
        **headers,
    )
    assert bad_nhs.status_code == 422 and bad_nhs.json()["detail"][0]["loc"] == ["body", "nhs_number"]
    check = client.post(f"/api/v1/patients/{pid}/relationships/{ok.json()['id']}/check-membership", **headers)
    assert check.status_code == 409 and "Available once Healthcode is set up" in check.json()["detail"]


def test_api_search_reads_every_field_it_returns_in_the_search_query(client, owner, practice, api_token_for):
    """The API lists what a patient's record holds (sex, address); the search reads it with the
    rows, so 1 patient or 8 cost the same queries (no field read patient by patient)."""
    headers = api_token_for(owner, practice)

    def queries_for_search() -> int:
        with CaptureQueriesContext(connection) as captured:
            page = client.get("/api/v1/patients?q=", **headers)
        assert page.status_code == 200
        return len(captured.captured_queries)

    _patient(practice, first="Ann", address_line1="1 High St", city="Leeds", sex="female")
    queries_for_search()  # the token's first use is recorded once
    one = queries_for_search()
    for i in range(7):
        _patient(practice, first=f"P{i}", address_line1=f"{i} Low Rd", city="York")
    assert queries_for_search() == one
    results = client.get("/api/v1/patients?q=", **headers).json()["results"]
    assert {(r["first_name"], r["city"], r["address_line1"]) for r in results} >= {("Ann", "Leeds", "1 High St")}
    assert next(r for r in results if r["first_name"] == "Ann")["sex"] == "female"
