"""Importing patients: the mapping guessed from the header, every problem by row and field, the
dry run's counts, all or nothing, the same file twice adds nothing twice, another practice untouched."""

from __future__ import annotations

import datetime as dt

import pytest

from openpractice.imports import services
from openpractice.imports.errors import ImportRunError
from openpractice.imports.models import ImportedRow, ImportRun, ImportStatus
from openpractice.patients.models import Patient, PatientRelationship
from tests.imports.conftest import PATIENTS_HEADER

GOOD = (
    "P1,Mrs,Ada,Lovelace,10/12/1985,F,ada@example.com,07700 900123,1 Analytical Row,London,w1g9pf,943 476 5919,bup,12345678",
    "P2,,Charles,Babbage,1971-12-26,M,,,,,,,,",
)


def test_mapping_guessed_from_header_names(practice, upload):
    run = upload(practice, "patients", PATIENTS_HEADER, *GOOD)
    assert run.mapping == {
        "source_id": "Patient ID",
        "title": "Title",
        "first_name": "Forename",
        "last_name": "Surname",
        "date_of_birth": "DOB",
        "sex": "Gender",
        "email": "Email",
        "phone": "Telephone",
        "address_line1": "Address",
        "city": "Town",
        "postcode": "Postcode",
        "nhs_number": "NHS No",
        "insurer": "Insurer",
        "registration_number": "Membership Number",
    }
    assert run.total_rows == 2


def test_valid_file_checked_then_posted(practice, upload, insurer_contact):
    bupa = insurer_contact(practice, "bup")
    run = upload(practice, "patients", PATIENTS_HEADER, *GOOD)
    run = services.check_import(run=run)
    assert run.status == ImportStatus.CHECKED and run.problems == []
    assert run.counts["create"] == 2
    assert Patient.objects.filter(practice=practice).count() == 0  # a dry run writes nothing
    run = services.post_import(run=run)
    assert run.status == ImportStatus.POSTED, run.problems
    ada = Patient.objects.get(practice=practice, last_name="Lovelace")
    assert ada.nhs_number == "9434765919" and ada.postcode == "W1G 9PF" and ada.sex == "female"
    assert ada.date_of_birth == dt.date(1985, 12, 10) and ada.last_name_key == "lovelace" and ada.phone_key
    membership = PatientRelationship.objects.get(patient=ada)
    assert membership.related_contact == bupa and membership.registration_number == "12345678"
    assert ImportedRow.objects.filter(run=run).count() == 2


def test_every_problem_named_by_row_and_field(practice, upload, insurer_contact):
    insurer_contact(practice, "bup")
    insurer_contact(practice, "ppp")
    run = upload(
        practice,
        "patients",
        PATIENTS_HEADER,
        GOOD[0],
        "P3,,,Nobody,31/02/1990,X,not-an-email,,,,XYZ,9434765918,ppp,12",
        "P4,,Grace,Hopper,12/09/2999,F,,,,,,,nosuch,1",
    )
    run = services.check_import(run=run)
    found = {(p["row"], p["field"]) for p in run.problems}
    assert {
        (3, "first_name"),
        (3, "date_of_birth"),
        (3, "sex"),
        (3, "email"),
        (3, "postcode"),
        (3, "nhs_number"),
        (3, "registration_number"),
        (4, "date_of_birth"),
        (4, "insurer"),
    } <= found
    nhs = next(p for p in run.problems if p["field"] == "nhs_number")
    assert nhs["column"] == "NHS No" and nhs["value"] == "9434765918" and "check digit" in nhs["message"]
    axa = next(p for p in run.problems if p["field"] == "registration_number")
    assert "AXA Health registration numbers look like" in axa["message"]
    assert run.counts["create"] == 1 and run.problem_count == len(run.problems)


def test_all_or_nothing(practice, upload):
    run = upload(practice, "patients", PATIENTS_HEADER, GOOD[1], "P9,,Bad,Date,notadate,,,,,,,,,")
    run = services.post_import(run=run)
    assert run.status == ImportStatus.FAILED
    assert run.problems[0]["row"] == 3 and run.problems[0]["field"] == "date_of_birth"
    assert not Patient.objects.filter(practice=practice).exists()
    assert not ImportedRow.objects.exists()


def test_same_file_twice_adds_nothing_twice(practice, upload, insurer_contact):
    insurer_contact(practice, "bup")
    services.post_import(run=upload(practice, "patients", PATIENTS_HEADER, *GOOD))
    again = services.check_import(run=upload(practice, "patients", PATIENTS_HEADER, *GOOD))
    assert again.counts["create"] == 0 and again.counts["already_imported"] == 2
    again = services.post_import(run=again)
    assert again.status == ImportStatus.POSTED
    assert Patient.objects.filter(practice=practice).count() == 2
    assert PatientRelationship.objects.filter(practice=practice).count() == 1


def test_existing_patient_matched_not_duplicated(practice, upload):
    from openpractice.patients.services import create_patient

    create_patient(
        practice=practice,
        data={"first_name": "Charles", "last_name": "Babbage", "date_of_birth": dt.date(1971, 12, 26)},
    )
    run = services.check_import(run=upload(practice, "patients", PATIENTS_HEADER, GOOD[1]))
    assert run.counts["already_here"] == 1 and run.counts["create"] == 0
    services.post_import(run=run)
    assert Patient.objects.filter(practice=practice).count() == 1
    assert ImportedRow.objects.get().created is False


def test_duplicate_rows_in_file(practice, upload):
    run = services.check_import(run=upload(practice, "patients", PATIENTS_HEADER, GOOD[1], GOOD[1]))
    assert [(p["row"], p["field"]) for p in run.problems] == [(3, "source_id")]


def test_other_practice_untouched(practice, other_practice, upload, make_member):
    other = make_member(other_practice)
    theirs = upload(other_practice, "patients", PATIENTS_HEADER, GOOD[1], user=other)
    services.post_import(run=theirs)
    mine = services.check_import(run=upload(practice, "patients", PATIENTS_HEADER, GOOD[1]))
    assert mine.counts["create"] == 1  # their import does not count as ours
    services.post_import(run=mine)
    assert Patient.objects.filter(practice=other_practice).count() == 1
    assert Patient.objects.filter(practice=practice).count() == 1


def test_background_post_reports_progress(
    practice, upload, insurer_contact, django_capture_on_commit_callbacks, settings
):
    insurer_contact(practice, "bup")
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "healthcode"]}
    }
    run = upload(practice, "patients", PATIENTS_HEADER, *GOOD)
    with django_capture_on_commit_callbacks(execute=True):
        started = services.post_import(run=run, background=True)
    assert started.status == ImportStatus.POSTING
    run = ImportRun.objects.get(pk=run.pk)
    assert run.status == ImportStatus.POSTED and run.progress == 2


def test_mapping_remembered_per_source(practice, upload):
    run = upload(practice, "patients", "Ref,Given,Family,Born", "1,Ada,Lovelace,10/12/1985", source="Acme PAS")
    assert "first_name" not in run.mapping
    services.set_mapping(
        run=run, mapping={"source_id": "Ref", "first_name": "Given", "last_name": "Family", "date_of_birth": "Born"}
    )
    again = upload(practice, "patients", "Ref,Given,Family,Born", "2,Bob,Smith,01/01/1970", source="Acme PAS")
    assert again.mapping["first_name"] == "Given" and again.mapping["date_of_birth"] == "Born"


def test_mapping_needs_required_fields(practice, upload):
    run = upload(practice, "patients", "Ref,Given,Family,Born", "1,Ada,Lovelace,10/12/1985")
    with pytest.raises(ImportRunError) as exc:
        services.set_mapping(run=run, mapping={"first_name": "Given"})
    assert exc.value.field == "last_name"


def test_upload_refuses_empty_file(practice, upload):
    with pytest.raises(ImportRunError, match="no rows"):
        upload(practice, "patients", PATIENTS_HEADER)


def test_a_very_long_id_is_still_recognised_the_second_time(practice, upload):
    long_id = "X" * 400
    row = f"{long_id},,Ada,Lovelace,10/12/1985,F,,,,,,,,"
    assert services.post_import(run=upload(practice, "patients", PATIENTS_HEADER, row)).status == ImportStatus.POSTED
    again = services.check_import(run=upload(practice, "patients", PATIENTS_HEADER, row))
    assert again.counts["already_imported"] == 1


def test_awkward_text_arrives_unchanged(practice, upload):
    # backslashes, a tab and quotes in cells: COPY's text format escapes them (db.bulk.copy_rows)
    row = 'P7,,"Zoë\\tAnn","O\'Brien \\\\ Smith",10/12/1985,,,,"Flat 2\\\\3, ""The Mews""",,,,,'
    run = services.post_import(run=upload(practice, "patients", PATIENTS_HEADER, row))
    assert run.status == ImportStatus.POSTED, run.problems
    patient = Patient.objects.get(practice=practice)
    assert patient.first_name == "Zoë\\tAnn" and patient.last_name == "O'Brien \\\\ Smith"
    assert patient.address_line1 == 'Flat 2\\\\3, "The Mews"'
