"""/api/v1/imports: upload, mapping, check (problems and dry run), post, status; tenancy."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from openpractice.patients.models import Patient
from tests.imports.conftest import csv_of

HEADER = "Ref,Forename,Surname,DOB"


def _client(api_token_for, user, practice):
    return Client(**api_token_for(user, practice))


def _upload(client, *rows):
    return client.post(
        "/api/v1/imports",
        {"kind": "patients", "source_name": "OldSystem", "file": SimpleUploadedFile("p.csv", csv_of(HEADER, *rows))},
    )


def test_upload_check_post_status(api_token_for, owner, practice):
    client = _client(api_token_for, owner, practice)
    created = _upload(client, "1,Ada,Lovelace,10/12/1985", "2,Bad,Date,1985-02-30")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "uploaded" and body["total_rows"] == 2 and body["mapping"]["source_id"] == "Ref"
    run_id = body["id"]
    mapped = client.put(
        f"/api/v1/imports/{run_id}/mapping",
        {"mapping": {"source_id": "Ref", "first_name": "Forename", "last_name": "Surname", "date_of_birth": "DOB"}},
        content_type="application/json",
    )
    assert mapped.status_code == 200 and mapped.json()["mapping"]["source_id"] == "Ref"
    checked = client.post(f"/api/v1/imports/{run_id}/check").json()
    assert checked["counts"]["create"] == 1 and checked["problem_count"] == 1
    assert checked["problems"][0] | {"message": ""} == {
        "row": 3,
        "field": "date_of_birth",
        "column": "DOB",
        "value": "1985-02-30",
        "message": "",
    }
    assert client.get(f"/api/v1/imports/{run_id}/problems").json()[0]["row"] == 3
    posted = client.post(f"/api/v1/imports/{run_id}/post")
    assert posted.status_code == 200 and posted.json()["status"] == "failed"
    assert not Patient.objects.filter(practice=practice).exists()
    fields = client.get("/api/v1/imports/fields?kind=patients").json()
    assert {"name": "first_name", "label": "First name", "required": True, "help": ""} in fields


def test_post_and_status(api_token_for, owner, practice):
    client = _client(api_token_for, owner, practice)
    run_id = _upload(client, "1,Ada,Lovelace,10/12/1985").json()["id"]
    client.put(
        f"/api/v1/imports/{run_id}/mapping",
        {"mapping": {"source_id": "Ref", "first_name": "Forename", "last_name": "Surname", "date_of_birth": "DOB"}},
        content_type="application/json",
    )
    posted = client.post(f"/api/v1/imports/{run_id}/post")
    assert posted.status_code == 200 and posted.json()["status"] == "posted"
    status = client.get(f"/api/v1/imports/{run_id}").json()
    assert status["counts"]["create"] == 1 and status["posted_at"]
    again = client.post(f"/api/v1/imports/{run_id}/post")
    assert again.status_code == 422 and again.json()["detail"][0]["type"] == "status"
    assert [r["id"] for r in client.get("/api/v1/imports").json()] == [run_id]


def test_mapping_refused_names_the_field(api_token_for, owner, practice):
    client = _client(api_token_for, owner, practice)
    run_id = _upload(client, "1,Ada,Lovelace,10/12/1985").json()["id"]
    response = client.put(
        f"/api/v1/imports/{run_id}/mapping", {"mapping": {"first_name": "Nope"}}, content_type="application/json"
    )
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "first_name"]


def test_another_practices_import_is_a_404(api_token_for, owner, practice, other_practice, make_member):
    theirs = _client(api_token_for, make_member(other_practice), other_practice)
    run_id = _upload(theirs, "1,Ada,Lovelace,10/12/1985").json()["id"]
    mine = _client(api_token_for, owner, practice)
    assert mine.get(f"/api/v1/imports/{run_id}").status_code == 404
    assert mine.get(f"/api/v1/imports/{run_id}/problems").status_code == 404
    assert mine.post(f"/api/v1/imports/{run_id}/check").status_code == 404
    assert mine.post(f"/api/v1/imports/{run_id}/post").status_code == 404
    assert mine.get("/api/v1/imports").json() == []


def test_needs_the_settings_capability(api_token_for, receptionist, practice):
    client = _client(api_token_for, receptionist, practice)
    assert client.get("/api/v1/imports").status_code == 403
