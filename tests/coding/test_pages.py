"""Settings > Coding pages, the type-ahead sources, and the API."""

import pytest
from django.urls import reverse

from openpractice.coding import services
from openpractice.coding.models import CodeImport, ImportStatus, Insurer

from .conftest import csv_bytes

pytestmark = pytest.mark.django_db


def upload(client, content, **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {
        "kind": "codes",
        "system": "ccsd",
        "retire_missing": "on",
        **fields,
        "file": SimpleUploadedFile("codes.csv", content, content_type="text/csv"),
    }
    return client.post(reverse("coding:import_new"), data)


def test_typeahead_options_and_no_match(owner_client):
    response = owner_client.get(reverse("coding:code_options"), {"system": "ccsd", "q": "W85"})
    html = response.content.decode()
    assert html.index('data-value="W8500"') < html.index('data-value="W8520"')
    assert 'data-label="W8500 — Multiple arthroscopic operations on knee"' in html and "Sample" in html
    html = owner_client.get(reverse("coding:code_options"), {"system": "icd10", "q": "zzqx"}).content.decode()
    assert "No match for “zzqx”" in html and 'aria-disabled="true"' in html
    assert owner_client.get(reverse("coding:code_options"), {"system": "nope", "q": "x"}).status_code == 404


def test_receptionist_can_search_but_not_manage(receptionist_client):
    assert receptionist_client.get(reverse("coding:code_options"), {"system": "ccsd", "q": "W"}).status_code == 200
    assert receptionist_client.get(reverse("coding:lookup")).status_code == 200
    for name in ["coding:settings", "coding:import_new", "coding:insurers"]:
        assert receptionist_client.get(reverse(name)).status_code == 403


def test_lookup_page_widget_markup(owner_client):
    html = owner_client.get(reverse("coding:lookup"), {"procedure_code": "W8500"}).content.decode()
    assert '<label for="id_procedure_code">Procedure code' in html
    assert 'role="combobox"' in html and 'aria-controls="id_procedure_code_listbox"' in html
    assert 'value="W8500 — Multiple arthroscopic operations on knee"' in html  # label_for_value
    # no JavaScript: the typed text is enough
    html = owner_client.get(reverse("coding:lookup"), {"diagnosis_search": "E11.9"}).content.decode()
    assert "Type 2 diabetes mellitus without complications" in html
    html = owner_client.get(reverse("coding:lookup"), {"diagnosis": "X99.99"}).content.decode()
    assert "is not a known diagnosis (icd-10)" in html


def test_import_page_preview_apply_and_again(owner_client, practice):
    content = csv_bytes("code,description", "W8500,Knee scope", "C7520,Lens")
    response = upload(owner_client, content)
    code_import = CodeImport.objects.get(practice=practice)
    assert response.status_code == 302 and code_import.status == ImportStatus.READY and code_import.added == 2
    page = owner_client.get(reverse("coding:import_detail", args=[code_import.pk])).content.decode()
    assert "To add" in page and "Knee scope" in page and "Apply these changes" in page
    owner_client.post(reverse("coding:import_apply", args=[code_import.pk]))
    code_import.refresh_from_db()
    assert code_import.status == ImportStatus.APPLIED and code_import.content == b""
    upload(owner_client, content)
    again = CodeImport.objects.filter(practice=practice).first()
    assert (again.added, again.changed, again.retired, again.unchanged) == (0, 0, 0, 2)
    assert "Nothing to change" in owner_client.get(reverse("coding:import_detail", args=[again.pk])).content.decode()


def test_import_page_shows_problems(owner_client, practice):
    upload(owner_client, csv_bytes("code,description,valid to", "W8500,Knee,2020-13-01"))
    code_import = CodeImport.objects.get(practice=practice)
    assert code_import.status == ImportStatus.INVALID
    page = owner_client.get(reverse("coding:import_detail", args=[code_import.pk])).content.decode()
    assert "nothing was changed" in page and "“2020-13-01” is not a date" in page and "<td>2</td>" in page


def test_accepted_list_needs_an_insurer(owner_client):
    response = upload(owner_client, csv_bytes("code", "W8500"), kind="accepted")
    assert "Choose the insurer whose accepted codes this file lists." in response.content.decode()


def test_large_import_runs_in_the_background_with_progress(
    owner_client, practice, monkeypatch, django_capture_on_commit_callbacks
):
    from openpractice.coding import tasks

    monkeypatch.setattr(services, "SYNC_LIMIT_BYTES", 10)
    with django_capture_on_commit_callbacks(execute=True):
        upload(owner_client, csv_bytes("code,description", *[f"W{n:04d},Knee {n}" for n in range(50)]))
    code_import = CodeImport.objects.get(practice=practice)
    from django_tasks_db.models import DBTaskResult

    queued = DBTaskResult.objects.get()
    assert queued.args_kwargs["args"] == [code_import.pk] and code_import.status == ImportStatus.CHECKING
    progress = owner_client.get(reverse("coding:import_progress", args=[code_import.pk]), {"was": "checking"})
    assert b"<progress" in progress.content and b'hx-trigger="every 1s"' in progress.content
    tasks.check_import_task.call(code_import.pk)
    progress = owner_client.get(reverse("coding:import_progress", args=[code_import.pk]), {"was": "checking"})
    assert progress["HX-Refresh"] == "true"
    code_import.refresh_from_db()
    assert code_import.status == ImportStatus.READY and code_import.added == 50


def test_other_practice_import_is_404(client_for, other_owner, owner_client, practice):
    upload(owner_client, csv_bytes("code,description", "W8500,Knee"))
    code_import = CodeImport.objects.get(practice=practice)
    assert client_for(other_owner).get(reverse("coding:import_detail", args=[code_import.pk])).status_code == 404


def test_editing_a_published_insurer_makes_the_practice_version(owner_client, practice, other_practice):
    alliance = Insurer.objects.get(name="Alliance Health", practice__isnull=True)
    response = owner_client.post(
        reverse("coding:insurer_edit", args=[alliance.pk]),
        {
            "name": "Alliance Health",
            "healthcode_identifier": "ALH",
            "member_check": "format",
            "find_member_fields": ["membershipNumber"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    mine = Insurer.objects.get(practice=practice, based_on=alliance)
    assert mine.healthcode_identifier == "alh"
    alliance.refresh_from_db()
    assert alliance.healthcode_identifier == ""  # the published one is untouched
    from openpractice.coding.selectors import insurers_for_practice

    assert mine in insurers_for_practice(practice=practice) and alliance not in insurers_for_practice(practice=practice)
    assert alliance in insurers_for_practice(practice=other_practice)


def test_insurer_form_errors_name_the_field(owner_client):
    response = owner_client.post(
        reverse("coding:insurer_add"), {"name": "Bupa", "healthcode_identifier": "b!", "member_check": "format"}
    )
    html = response.content.decode()
    assert "Enter the Healthcode identifier in lower case" in html
    response = owner_client.post(
        reverse("coding:insurer_add"), {"name": "bupa", "healthcode_identifier": "zzz", "member_check": "format"}
    )
    assert "already in the directory" in response.content.decode()


def test_settings_pages_render(owner_client):
    for name in ["coding:settings", "coding:insurers", "coding:import_new", "coding:insurer_add", "coding:lookup"]:
        response = owner_client.get(reverse(name))
        assert response.status_code == 200, name
    assert 'href="/settings/coding/"' in owner_client.get(reverse("practices:settings_practice")).content.decode()


# API ---------------------------------------------------------------------------------------------


def test_api_search_and_lookups(receptionist, practice, api_token_for, client, bupa):
    headers = api_token_for(receptionist, practice)
    found = client.get("/api/v1/codes/ccsd/search", {"q": "W85"}, **headers).json()
    assert [c["code"] for c in found] == ["W8500", "W8520"] and found[0]["match"] == "prefix" and found[0]["is_sample"]
    found = client.get("/api/v1/codes/icd10/search", {"q": "type 2 diabetes"}, **headers).json()
    assert found[0]["code"].startswith("E11")
    assert (
        client.get("/api/v1/codes/ccsd/search", {"q": "AC100", "include_inactive": "true"}, **headers).json()[0][
            "is_active"
        ]
        is False
    )
    assert client.get("/api/v1/codes/icd10/E119", **headers).json()["code"] == "E11.9"
    assert client.get("/api/v1/codes/icd10/NOPE", **headers).status_code == 404
    assert client.get("/api/v1/codes/xyz/search", {"q": "a"}, **headers).status_code == 422
    assert client.get("/api/v1/codes/ccsd/search", {"q": ""}, **headers).status_code == 422
    accepted = client.get(f"/api/v1/insurers/{bupa.pk}/accepted-codes/ccsd/W8500", **headers).json()
    assert accepted["accepted"] is True and accepted["max_fee"] is None
    names = [i["name"] for i in client.get("/api/v1/insurers", {"q": "axa"}, **headers).json()]
    assert names == ["AXA Health"]
    assert client.get("/api/v1/codes/ccsd/search", {"q": "W85"}).status_code == 401


def test_discard_asks_first_naming_the_file(owner_client, practice):
    upload(owner_client, csv_bytes("code,description", "W8500,Knee scope"))
    code_import = CodeImport.objects.get(practice=practice)
    page = owner_client.get(reverse("coding:import_detail", args=[code_import.pk])).content.decode()
    assert f'<form method="get" action="{reverse("coding:import_discard", args=[code_import.pk])}"' in page
    question = owner_client.get(reverse("coding:import_discard", args=[code_import.pk]))
    assert question.status_code == 200
    assert "Discard the import of codes.csv?" in question.content.decode()
    assert "Discard codes.csv</button>" in question.content.decode()
    code_import.refresh_from_db()
    assert code_import.status == ImportStatus.READY  # asking changed nothing
    owner_client.post(reverse("coding:import_discard", args=[code_import.pk]))
    code_import.refresh_from_db()
    assert code_import.status != ImportStatus.READY
