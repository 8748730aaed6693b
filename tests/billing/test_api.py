"""/api/v1/invoices: create, check, submit and follow, with the pages' permissions and tenancy."""

import datetime as dt
import json

from openpractice.accounts.models import User
from openpractice.patients.models import Patient
from openpractice.practices.models import Membership
from openpractice.products.models import Product


def _body(demo, **changes):
    patient = Patient.objects.get(practice=demo, last_name="Bennett")
    today = dt.date.today().isoformat()
    body = {
        "bill_to": "insurer",
        "patient_id": patient.pk,
        "insurance_id": patient.relationships.get(relationship_type="insurance").pk,
        "practitioner_id": Membership.objects.get(practice=demo, user__email__startswith="dr.patel").pk,
        "invoice_date": today,
        "primary_diagnosis": "M17.1",
        "service_setting": "outpatient",
        "lines": [
            {
                "product_id": Product.objects.get(practice=demo, name="Initial consultation").pk,
                "service_date": today,
                "quantity": 2,
            }
        ],
    }
    body.update(changes)
    return body


def _post(client, url, body, headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def test_create_check_submit_and_status(demo, client, api_token_for):
    from openpractice.healthcode.models import Submission
    from openpractice.healthcode.submission import deliver

    headers = api_token_for(User.objects.get(email="billing@demo.openpractice.test"), demo)
    created = _post(client, "/api/v1/invoices", _body(demo), headers)
    assert created.status_code == 201, created.content
    invoice = created.json()
    assert invoice["total"] == "360.00" and invoice["lines"][0]["price_source"] == "contract"
    check = client.get(f"/api/v1/invoices/{invoice['id']}/check", **headers).json()
    assert check["passed"] is True
    assert [p["rule"] for p in check["problems"]] == ["member-not-checked"]
    submitted = _post(client, f"/api/v1/invoices/{invoice['id']}/healthcode/submit", {}, headers)
    assert submitted.status_code == 202, submitted.content
    assert submitted.json()["healthcode_status"] == "queued"
    deliver(Submission.objects.get(invoice_id=invoice["id"]).pk)
    status = client.get(f"/api/v1/invoices/{invoice['id']}/healthcode", **headers).json()
    assert status["healthcode_status"] == "unprocessed" and status["submissions"][0]["bill_id"].startswith("HCB")
    again = _post(client, f"/api/v1/invoices/{invoice['id']}/healthcode/submit", {}, headers)
    assert again.status_code == 422 and "already with Healthcode" in again.json()["detail"][0]["msg"]


def test_bad_bodies_name_the_field(demo, client, api_token_for):
    headers = api_token_for(User.objects.get(email="billing@demo.openpractice.test"), demo)
    response = _post(client, "/api/v1/invoices", _body(demo, invoice_date="31/02/2026"), headers)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "invoice_date"
    response = _post(client, "/api/v1/invoices", _body(demo, primary_diagnosis="XYZ"), headers)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "primary_diagnosis"]
    response = _post(
        client, "/api/v1/invoices", _body(demo, lines=[{"product_id": 999999, "service_date": "2026-01-01"}]), headers
    )
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "lines[1].product_id"]


def test_check_failure_refuses_submission_with_every_problem(demo, client, api_token_for):
    headers = api_token_for(User.objects.get(email="billing@demo.openpractice.test"), demo)
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    body = _body(demo, primary_diagnosis="")
    body["lines"][0]["service_date"] = future
    invoice = _post(client, "/api/v1/invoices", body, headers).json()
    refused = _post(client, f"/api/v1/invoices/{invoice['id']}/healthcode/submit", {}, headers)
    assert refused.status_code == 422
    fields = {d["loc"][-1] for d in refused.json()["detail"]}
    assert {"FDOS", "Diagnosis", "ServiceDate"} <= fields


def test_roles_and_tenancy(demo, client, api_token_for, make_practice, make_member):
    from openpractice.practices.roles import Role

    reception = api_token_for(User.objects.get(email="reception@demo.openpractice.test"), demo)
    assert _post(client, "/api/v1/invoices", _body(demo), reception).status_code == 403
    biller = api_token_for(User.objects.get(email="billing@demo.openpractice.test"), demo)
    invoice = _post(client, "/api/v1/invoices", _body(demo), biller).json()
    other = make_practice("Elsewhere")
    stranger = api_token_for(make_member(other, Role.OWNER, email="o@elsewhere.test"), other)
    assert client.get(f"/api/v1/invoices/{invoice['id']}", **stranger).status_code == 404
    assert client.get(f"/api/v1/invoices/{invoice['id']}/check", **stranger).status_code == 404
    assert _post(client, f"/api/v1/invoices/{invoice['id']}/healthcode/submit", {}, stranger).status_code == 404
    assert client.get("/api/v1/invoices", **stranger).json() == []
