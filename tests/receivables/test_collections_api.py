"""/api/v1/collections: accounts, the work queue, chase runs (create, review, send), write-offs
(request, approve, reverse), patient payments, insurer disputes and insurer debt; capabilities as
the pages, another practice's object a 404, a broken rule a 422 with its field and code."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from openpractice.practices.roles import Role
from tests.token_api import TokenApi

TODAY = dt.date.today()


@pytest.fixture
def biller_api(world, api_token_for):
    return TokenApi(api_token_for(world.user, world.practice))


@pytest.fixture
def owner_api(world, api_token_for, make_member):
    return TokenApi(api_token_for(make_member(world.practice, Role.OWNER), world.practice))


@pytest.fixture
def overdue(world, debts):
    return debts.age(debts.self_pay("Consultation"), 20)


def test_accounts_and_one_account(world, debts, overdue, biller_api):
    debts.pay(overdue, "30.00")
    found = biller_api.get("/collections/accounts").json()
    assert found["count"] == 1 and found["total"] == "150.00"
    assert found["rows"][0]["patient_id"] == world.patient.pk and found["rows"][0]["days_overdue"] == 20
    account = biller_api.get(f"/collections/accounts/{world.patient.pk}").json()
    assert account["balance"] == "150.00" and account["items"][0]["invoice_id"] == overdue.pk
    assert account["payments"][0]["amount"] == "30.00"
    payments = biller_api.get(f"/collections/payments?patient_id={world.patient.pk}").json()
    assert [p["amount"] for p in payments] == ["30.00"]


def test_queue_and_chase_run(world, overdue, biller_api):
    queue = biller_api.get("/collections/queue?overdue=true").json()
    assert queue["count"] == 1 and queue["rows"][0]["next_stage"] == "statement"
    assert biller_api.get("/collections/queue?stage=nonsense").status_code == 422
    made = biller_api.post("/collections/chase-runs")
    assert made.status_code == 201
    run = made.json()
    assert run["status"] == "review" and [i["invoice_id"] for i in run["run_items"]] == [overdue.pk]
    assert biller_api.get("/collections/chase-runs").json()[0]["id"] == run["id"]
    sent = biller_api.post(f"/collections/chase-runs/{run['id']}/send", {"include": [run["run_items"][0]["id"]]})
    assert sent.status_code == 200, sent.content
    again = biller_api.post(f"/collections/chase-runs/{run['id']}/send", {"include": []})
    assert again.status_code == 422 and again.json()["detail"][0]["type"]


def test_write_offs_request_approve_reverse(world, overdue, biller_api, owner_api):
    too_much = biller_api.post(f"/collections/debts/{overdue.pk}/write-offs", {"amount": "999.00", "reason": "x"})
    assert too_much.status_code == 422 and too_much.json()["detail"][0]["loc"][-1] == "amount"
    asked = biller_api.post(f"/collections/debts/{overdue.pk}/write-offs", {"amount": "40.00", "reason": "Hardship"})
    assert asked.status_code == 201
    wid = asked.json()["id"]
    assert biller_api.post(f"/collections/write-offs/{wid}/approve").status_code == 403  # a biller cannot approve
    entry = owner_api.post(f"/collections/write-offs/{wid}/approve")
    assert entry.status_code == 201 and entry.json()["amount"] == "40.00"
    assert owner_api.post(f"/collections/write-offs/{wid}/approve").json()["detail"][0]["type"] == "wrong_status"
    back = owner_api.post(f"/collections/write-off-entries/{entry.json()['id']}/reverse", {"reason": "Paid after all"})
    assert back.status_code == 201 and back.json()["amount"] == "-40.00"
    assert [w["status"] for w in biller_api.get("/collections/write-offs").json()] == ["approved"]


def test_disputes(world, underpaid, biller_api, owner_api):
    listed = biller_api.get("/collections/disputes").json()
    assert [r["id"] for r in listed["rows"]] == [underpaid.pk] and listed["rows"][0]["difference"] == "50.00"
    one = biller_api.get(f"/collections/disputes/{underpaid.pk}").json()
    assert "£50.00" in one["letter"] and one["status"] == "raised"
    assert biller_api.post(f"/collections/disputes/{underpaid.pk}/sent", {"note": "Emailed"}).json()["status"] == "sent"
    # Moving it to the patient by the remittance route is refused: it is the insurer's.
    moved = biller_api.post(f"/remittance-lines/{underpaid.remittance_line_id}/shortfall-transfer")
    assert moved.status_code == 422 and moved.json()["detail"][0]["type"] == "underpayment"
    assert biller_api.post(f"/collections/disputes/{underpaid.pk}/write-off", {"reason": "x"}).status_code == 403
    done = owner_api.post(f"/collections/disputes/{underpaid.pk}/write-off", {"reason": "Too small to chase"})
    assert done.status_code == 201 and done.json()["amount"] == "50.00"
    assert biller_api.get("/collections/disputes?status=resolved").json()["rows"][0]["status"] == "written_off"


def test_override_by_the_api_keeps_the_reason(world, underpaid, biller_api):
    answer = biller_api.post(
        f"/remittance-lines/{underpaid.remittance_line_id}/who-owes", {"kind": "patient", "reason": "Excess confirmed"}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert (body["kind"], body["rule_kind"], body["override_reason"]) == ("patient", "underpayment", "Excess confirmed")
    assert biller_api.post(f"/remittance-lines/{underpaid.remittance_line_id}/shortfall-transfer").status_code == 201


def test_insurer_debt(world, debts, biller_api):
    old = debts.age(world.invoice("Consultation"), 45)
    rows = biller_api.get("/collections/insurer-debt").json()["rows"]
    assert [r["invoice_id"] for r in rows] == [old.pk] and rows[0]["usual_days_to_pay"] == 30
    assert biller_api.get("/collections/insurer-debt?age=90").json()["rows"] == []
    assert biller_api.get("/collections/insurer-debt?age=7").status_code == 422


def test_capabilities_and_tenancy(world, overdue, underpaid, api_token_for, make_member, other_practice):
    receptionist = TokenApi(api_token_for(make_member(world.practice, Role.RECEPTIONIST), world.practice))
    for url in ("/collections/accounts", "/collections/queue", "/collections/disputes", "/collections/payments"):
        assert receptionist.get(url).status_code == 403, url
    stranger = TokenApi(api_token_for(make_member(other_practice, Role.OWNER), other_practice))
    assert stranger.get(f"/collections/accounts/{world.patient.pk}").status_code == 404
    assert stranger.get(f"/collections/disputes/{underpaid.pk}").status_code == 404
    assert (
        stranger.post(f"/collections/debts/{overdue.pk}/write-offs", {"amount": "1.00", "reason": "x"}).status_code
        == 404
    )
    assert stranger.get("/collections/accounts").json()["count"] == 0
    assert Client().get("/api/v1/collections/accounts").status_code == 401
    assert Decimal(stranger.get("/collections/accounts").json()["total"]) == 0
