"""Finding (c): malformed remittance files answered HTTP 500. Every one gets an error naming where
(element or row, field, what would be valid): the page re-renders with the problems, the API
answers 422, and nothing is stored."""

from __future__ import annotations

import base64
import json

import pytest
from remit_helpers import bundle, dumps

from openpractice.remittances import parsing
from openpractice.remittances.errors import RemittanceError
from openpractice.remittances.models import PendingImport, RemittanceBatch

CSV_FORM = {
    "kind": "csv",
    "insurer_identifier": "bup",
    "payment_reference": "BACS-1",
    "column_invoice_number": "Invoice",
    "column_amount_paid": "Paid",
}


def _valid(world) -> dict:
    return json.loads(dumps(bundle([{"invoice": world.invoice()}])))


def _reconciliation(body):
    return body["entry"][0]["resource"]


def malformed_fhir(world) -> dict[str, bytes]:
    files = {"deep nesting": ("[" * 100_000 + "]" * 100_000).encode(), "deep nesting in a field": None}
    body = _valid(world)
    _reconciliation(body)["detail"][0]["extension"][2]["valueString"] = json.loads("[" * 500 + "]" * 500)
    files["deep nesting in a field"] = json.dumps(body).encode()
    body = _valid(world)
    body["entry"] = 5
    files["entry is a number"] = json.dumps(body).encode()
    body = _valid(world)
    _reconciliation(body)["extension"] = "bup"
    files["extension is text"] = json.dumps(body).encode()
    body = _valid(world)
    body["entry"][1]["resource"]["item"][0]["adjudication"][0]["category"] = "submitted"
    files["category is text"] = json.dumps(body).encode()
    body = _valid(world)
    body["entry"][1]["resource"]["item"] = {"itemSequence": 1}
    files["item is an object"] = json.dumps(body).encode()
    body = _valid(world)
    _reconciliation(body)["detail"][0]["request"] = {"identifier": {"value": "INV\u0000001"}}
    files["NUL in the invoice number"] = json.dumps(body).encode()
    body = _valid(world)
    _reconciliation(body)["paymentIdentifier"] = {"value": "\ud800"}
    files["lone surrogate"] = json.dumps(body).encode()
    body = _valid(world)
    files["UTF-16 JSON"] = json.dumps(body).encode("utf-16")
    return files


MALFORMED_CSV = {
    "field over 131,072 characters": b"Invoice,Paid\nINV1," + b"9" * 200_000 + b"\n",
    "NUL byte": b"Invoice,Paid\nINV\x001,10.00\n",
    "not a text file": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x81\x8d\x8f\x90\x9d",
    "missing column": b"Number,Amount\nINV1,10.00\n",
    "bad number": b"Invoice,Paid\nINV1,1e999999\n",
    "empty": b"",
    "header only": b"Invoice,Paid\n",
}


def test_each_malformed_fhir_file_is_a_remittance_error(world):
    for name, content in malformed_fhir(world).items():
        if name == "UTF-16 JSON":
            continue  # readable: another encoding of a good file
        with pytest.raises(RemittanceError) as error:
            parsing.parse_bundle(parsing.load_json(content))
        assert error.value.field, name


def test_deep_nesting_names_the_limit(world):
    with pytest.raises(RemittanceError) as error:
        parsing.load_json(b"[" * 100_000)
    assert "nested" in error.value.message


def test_csv_field_size_names_the_row(world):
    with pytest.raises(RemittanceError) as error:
        parsing.parse_csv(
            MALFORMED_CSV["field over 131,072 characters"],
            mapping={"invoice_number": "Invoice", "amount_paid": "Paid"},
            insurer_identifier="bup",
            payment_reference="R",
            payment_date=None,
        )
    assert error.value.problems[0]["row"] == "row 2" and "131,072" in error.value.message


def test_malformed_files_on_the_page_are_listed_not_500(world, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(world.user)
    cases = [
        ({"kind": "fhir"}, name, content) for name, content in malformed_fhir(world).items() if name != "UTF-16 JSON"
    ]
    cases += [(CSV_FORM, name, content) for name, content in MALFORMED_CSV.items()]
    for form, name, content in cases:
        answer = client.post("/remittances/import/", {**form, "file": SimpleUploadedFile("f", content)})
        assert answer.status_code == 200, name
        text = answer.content.decode()
        assert "Preview:" not in text and ('role="alert"' in text or "errorlist" in text or "aria-invalid" in text), (
            name
        )
    assert not RemittanceBatch.objects.exists() and not PendingImport.objects.exists()


def test_malformed_files_through_the_api_are_422(world, api_token_for, client_for):
    headers = api_token_for(world.user, world.practice)
    client = client_for(world.user)
    cases = [
        ({"kind": "fhir"}, name, content) for name, content in malformed_fhir(world).items() if name != "UTF-16 JSON"
    ]
    cases += [
        (
            {
                "kind": "csv",
                "insurer_identifier": "bup",
                "payment_reference": "BACS-1",
                "mapping": {"invoice_number": "Invoice", "amount_paid": "Paid"},
            },
            name,
            content,
        )
        for name, content in MALFORMED_CSV.items()
    ]
    for options, name, content in cases:
        for preview in (True, False):
            answer = client.post(
                "/api/v1/remittances/import",
                json.dumps({**options, "content_base64": base64.b64encode(content).decode(), "preview": preview}),
                content_type="application/json",
                **headers,
            )
            assert answer.status_code == 422, (name, answer.content[:300])
            detail = answer.json()["detail"][0]
            assert detail["loc"][0] == "body" and detail["msg"], name
    assert not RemittanceBatch.objects.exists()


def test_a_utf16_fhir_file_imports(world):
    from openpractice.remittances import services

    body = _valid(world)
    batch = services.import_file(
        practice=world.practice, content=json.dumps(body).encode("utf-16"), kind="fhir", user=world.user
    )
    assert batch.lines.get().status == "allocated"


def test_a_deeply_nested_request_body_is_422(world, api_token_for, client_for):
    headers = api_token_for(world.user, world.practice)
    client = client_for(world.user)
    answer = client.post("/api/v1/remittances/import", "[" * 100_000, content_type="application/json", **headers)
    assert answer.status_code in (400, 422), answer.content[:200]
