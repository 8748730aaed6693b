"""Settings › Import data: upload → columns → check → import → result, the capability, tenancy."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from openpractice.imports.models import ImportRun, ImportStatus
from openpractice.patients.models import Patient
from tests.imports.conftest import csv_of

HEADER = "Patient ID,Forename,Surname,DOB,NHS No"


def _upload(client, *rows, source="OldSystem"):
    return client.post(
        reverse("imports:start"),
        {"kind": "patients", "source_name": source, "file": SimpleUploadedFile("patients.csv", csv_of(HEADER, *rows))},
    )


def test_the_whole_flow(owner_client, practice):
    page = owner_client.get(reverse("imports:start"))
    assert page.status_code == 200 and b"No imports yet" in page.content and b"Import data" in page.content
    response = _upload(owner_client, "P1,Ada,Lovelace,10/12/1985,9434765919", "P2,Bad,Row,31/02/1990,")
    run = ImportRun.objects.get()
    assert response.url == reverse("imports:columns", args=[run.pk])
    columns = owner_client.get(response.url)
    assert b"Ada" in columns.content and b"Column mapping" in columns.content  # a sample value beside each field
    response = owner_client.post(
        reverse("imports:columns", args=[run.pk]),
        {
            "source_id": "Patient ID",
            "first_name": "Forename",
            "last_name": "Surname",
            "date_of_birth": "DOB",
            "nhs_number": "NHS No",
        },
    )
    assert response.url == reverse("imports:detail", args=[run.pk])
    detail = owner_client.get(response.url).content.decode()
    assert "1 problem to fix" in detail and "31/02/1990" in detail and "Date of birth" in detail
    assert 'id="import-post"' not in detail  # no import while a problem stands
    fixed = _upload(owner_client, "P1,Ada,Lovelace,10/12/1985,9434765919", "P2,Bad,Row,28/02/1990,")
    run2 = ImportRun.objects.exclude(pk=run.pk).get()
    assert run2.mapping["first_name"] == "Forename"
    owner_client.post(reverse("imports:check", args=[run2.pk]))
    detail = owner_client.get(reverse("imports:detail", args=[run2.pk])).content.decode()
    assert "Every row passed its checks" in detail and 'id="import-post"' in detail
    response = owner_client.post(reverse("imports:post", args=[run2.pk]))
    assert response.status_code == 302
    assert ImportRun.objects.get(pk=run2.pk).status == ImportStatus.POSTED
    result = owner_client.get(reverse("imports:detail", args=[run2.pk])).content.decode()
    assert "Imported" in result and "See the patients" in result
    assert Patient.objects.filter(practice=practice).count() == 2
    assert fixed.status_code == 302


def test_upload_errors_shown_at_the_field(owner_client):
    response = owner_client.post(reverse("imports:start"), {"kind": "patients", "source_name": "X"})
    assert response.status_code == 200 and b"This field is required" in response.content
    response = owner_client.post(
        reverse("imports:start"),
        {"kind": "patients", "source_name": "X", "file": SimpleUploadedFile("e.csv", csv_of(HEADER))},
    )
    assert b"no rows to import" in response.content


def test_needs_the_settings_capability(receptionist_client):
    assert receptionist_client.get(reverse("imports:start")).status_code == 403


def test_another_practices_run_is_a_404(owner_client, other_practice, make_member):
    from openpractice.imports import services

    other = make_member(other_practice)
    run = services.create_import(
        practice=other_practice,
        kind="patients",
        source_name="X",
        filename="x.csv",
        data=csv_of(HEADER, "P1,Ada,Lovelace,10/12/1985,"),
        user=other,
    )
    for name in ("detail", "columns", "progress"):
        assert owner_client.get(reverse(f"imports:{name}", args=[run.pk])).status_code == 404
    for name in ("check", "post"):
        assert owner_client.post(reverse(f"imports:{name}", args=[run.pk])).status_code == 404
    assert ImportRun.objects.get(pk=run.pk).status == ImportStatus.UPLOADED


def test_progress_while_posting(owner_client, practice, owner):
    from openpractice.imports import services

    run = services.create_import(
        practice=practice,
        kind="patients",
        source_name="X",
        filename="x.csv",
        data=csv_of(HEADER, "P1,Ada,Lovelace,10/12/1985,"),
        user=owner,
    )
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.POSTING, phase="checking", progress=1)
    page = owner_client.get(reverse("imports:detail", args=[run.pk])).content.decode()
    assert "1</strong> of 1 rows checked" in page and 'hx-trigger="every 1s"' in page
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.POSTED)
    partial = owner_client.get(reverse("imports:progress", args=[run.pk]))
    assert partial["HX-Redirect"] == reverse("imports:detail", args=[run.pk])


def test_help_page(owner_client):
    assert b"Importing data from another system" in owner_client.get(reverse("imports:help")).content
