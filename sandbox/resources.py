"""Build the FHIR resources the sandbox answers with, from database rows."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

from sandbox import NAMESPACE, bills, faults, remittances, rules, seed
from sandbox.claim_mapping import (
    SYSTEM_BILL_ID,
    SYSTEM_CCSD,
    SYSTEM_HEALTHCODE_IDENTIFIER,
    SYSTEM_ICD10,
    SYSTEM_INSURER,
    SYSTEM_INVOICE_NUMBER,
    SYSTEM_ISC,
    SYSTEM_MEMBERSHIP_NUMBER,
    SYSTEM_PAYMENT_REFERENCE,
)
from sandbox.fhir import extension, money

SYSTEM_VALIDATION_RULE = f"{NAMESPACE}/CodeSystem/validation-rule"
SYSTEM_SHORTFALL_REASON = f"{NAMESPACE}/CodeSystem/shortfall-reason"
SYSTEM_ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
SYSTEM_SANDBOX_ADJUDICATION = f"{NAMESPACE}/CodeSystem/adjudication"
SYSTEM_CODE_SET = {seed.SERVICE_TYPE: SYSTEM_ISC, seed.PROCEDURE_CODE: SYSTEM_CCSD, seed.CONDITION_CODE: SYSTEM_ICD10}

# Which Find Member inputs each kind of insurer needs (our choice, mirroring the checks).
FIND_MEMBER_FIELDS = {
    "database": ["membershipNumber", "lastName", "dateOfBirth", "postCode"],
    "format": ["membershipNumber"],
}


def insurer_reference(identifier: str) -> dict[str, Any]:
    return {"identifier": {"system": SYSTEM_INSURER, "value": identifier}}


def organization(insurer: sqlite3.Row) -> dict[str, Any]:
    required = FIND_MEMBER_FIELDS[insurer["member_check"]]
    extensions = [
        extension("member-check", valueCode=insurer["member_check"]),
        extension("identifier-is-public", valueBoolean=bool(insurer["identifier_is_public"])),
        extension("requires-diagnosis", valueBoolean=bool(insurer["requires_diagnosis"])),
        extension("requires-agreed-fees", valueBoolean=bool(insurer["requires_agreed_fees"])),
        extension(
            "membership-number-formats", valueString=rules.describe(rules.membership_formats(insurer["identifier"]))
        ),
    ]
    extensions += [extension("find-member-required-field", valueString=name) for name in required]
    if insurer["time_limit_months"]:
        extensions.append(extension("time-limit-months", valueInteger=insurer["time_limit_months"]))
    return {
        "resourceType": "Organization",
        "id": insurer["identifier"],
        "extension": extensions,
        "identifier": [{"system": SYSTEM_INSURER, "value": insurer["identifier"]}],
        "active": True,
        "type": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                        "code": "ins",
                        "display": "Insurance Company",
                    }
                ]
            }
        ],
        "name": insurer["name"],
    }


def code_entry(code: sqlite3.Row, accepted_by: list[str]) -> dict[str, Any]:
    """One code of a code set, as a FHIR Basic resource (our choice of shape)."""
    extensions = [extension("sample", valueBoolean=True), extension("code-set", valueCode=code["code_set"])]
    if code["active_from"] or code["active_to"]:
        period = {key: value for key, value in (("start", code["active_from"]), ("end", code["active_to"])) if value}
        extensions.append(extension("active-period", valuePeriod=period))
    if code["note"]:
        extensions.append(extension("note", valueString=code["note"]))
    extensions += [extension("accepted-by-insurer", valueString=insurer) for insurer in accepted_by]
    return {
        "resourceType": "Basic",
        "id": f"{code['code_set']}-{code['code']}".replace(".", "-"),
        "extension": extensions,
        "code": {
            "coding": [{"system": SYSTEM_CODE_SET[code["code_set"]], "code": code["code"], "display": code["display"]}],
            "text": code["display"],
        },
    }


def coverage(
    member: sqlite3.Row | None, *, insurer_identifier: str, membership_number: str, active: bool, checked_by: str
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": f"{insurer_identifier}-{membership_number}".replace("/", "-").replace(" ", "-"),
        "extension": [extension("checked-by", valueCode=checked_by)],
        "identifier": [{"system": SYSTEM_MEMBERSHIP_NUMBER, "value": membership_number}],
        "status": "active" if active else "cancelled",
        "subscriberId": membership_number,
        "beneficiary": {"display": "member"},
        "payor": [insurer_reference(insurer_identifier)],
    }
    if member is not None:
        resource["beneficiary"] = {"display": f"{member['first_name']} {member['last_name']}"}
        resource["period"] = {
            key: value for key, value in (("start", member["cover_start"]), ("end", member["cover_end"])) if value
        }
    return resource


def _error(entry: dict[str, Any]) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "extension": [
            extension("error-field", valueString=entry["field"]),
            extension("error-suggestion", valueString=entry["suggestion"]),
            extension("error-level", valueCode=entry["level"]),
        ],
        "code": {
            "coding": [{"system": SYSTEM_VALIDATION_RULE, "code": entry["rule"], "display": entry["error"]}],
            "text": entry["error"],
        },
    }
    if entry["line"] is not None:
        rendered["itemSequence"] = entry["line"]
    return rendered


def _category(code: str, system: str = SYSTEM_ADJUDICATION) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def claim_response(connection: sqlite3.Connection, bill: sqlite3.Row) -> dict[str, Any]:
    status = bill["status"]
    # Test mode (faults.reported_status): every bill reported with one status word, known or not,
    # to show that a client copes with values Healthcode may add without notice.
    status = faults.load(connection).reported_status or status
    outcome = {bills.UNPROCESSED: "queued", bills.IN_PROCESS: "queued", bills.AWAITING_CORRECTION: "error"}.get(
        status, "complete"
    )
    extensions = [
        extension("bill-status", valueString=status),
        extension("submitted-at", valueDateTime=bill["submitted_at"]),
    ]
    for column, name in (
        ("validated_at", "validated-at"),
        ("awaiting_collection_at", "awaiting-collection-at"),
        ("collected_at", "collected-at"),
        ("cancelled_at", "cancelled-at"),
    ):
        if bill[column]:
            extensions.append(extension(name, valueDateTime=bill[column]))
    for column, name in (
        ("replaces_bill_id", "replaces"),
        ("replaced_by_bill_id", "replaced-by"),
        ("remittance_id", "remittance-id"),
    ):
        if bill[column]:
            extensions.append(extension(name, valueString=bill[column]))
    resource: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": bill["bill_id"],
        "extension": extensions,
        "identifier": [
            {"system": SYSTEM_BILL_ID, "value": bill["bill_id"]},
            {"system": SYSTEM_INVOICE_NUMBER, "value": bill["invoice_number"]},
        ],
        "status": "cancelled" if status == bills.CANCELLED else "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "claim",
        "patient": {"display": bill["patient_name"]},
        "created": bill["submitted_at"],
        "insurer": insurer_reference(bill["insurer_identifier"]),
        "requestor": {"identifier": {"system": SYSTEM_HEALTHCODE_IDENTIFIER, "value": bill["provider_number"]}},
        "request": {"identifier": {"system": SYSTEM_INVOICE_NUMBER, "value": bill["invoice_number"]}},
        "outcome": outcome,
        "disposition": status,
    }
    errors = bills.visible_errors(bill)
    if errors:
        resource["error"] = [_error(entry) for entry in errors]
    if bill["remittance_id"]:
        _add_adjudication(connection, bill, resource)
    return resource


def _add_adjudication(connection: sqlite3.Connection, bill: sqlite3.Row, resource: dict[str, Any]) -> None:
    items = []
    invoiced = paid = Decimal("0.00")
    for line in bills.lines(connection, bill["bill_id"]):
        net = Decimal(line["net_amount"])
        line_paid = Decimal(line["paid_amount"] or "0")
        invoiced += net
        paid += line_paid
        adjudication = [
            {"category": _category("submitted"), "amount": money(net)},
            {"category": _category("benefit"), "amount": money(line_paid)},
        ]
        if line_paid < net:
            adjudication.append(
                {
                    "category": _category("shortfall", SYSTEM_SANDBOX_ADJUDICATION),
                    "reason": {
                        "coding": [
                            {
                                "system": SYSTEM_SHORTFALL_REASON,
                                "code": "rejected" if line_paid == 0 else "benefit-maximum",
                            }
                        ],
                        "text": line["adjudication_reason"] or "",
                    },
                    "amount": money(net - line_paid),
                }
            )
        items.append({"itemSequence": line["sequence"], "adjudication": adjudication})
    batch = connection.execute("SELECT * FROM remittances WHERE remittance_id = ?", (bill["remittance_id"],)).fetchone()
    resource["item"] = items
    resource["total"] = [
        {"category": _category("submitted"), "amount": money(invoiced)},
        {"category": _category("benefit"), "amount": money(paid)},
    ]
    resource["payment"] = {
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/ex-paymenttype",
                    "code": "complete" if paid == invoiced else "partial",
                }
            ]
        },
        "date": batch["payment_date"],
        "amount": money(paid),
        "identifier": {"system": SYSTEM_PAYMENT_REFERENCE, "value": batch["payment_reference"]},
    }
    if paid < invoiced:
        resource["outcome"] = "partial"


def _payment_detail(connection: sqlite3.Connection, bill: sqlite3.Row, batch: sqlite3.Row) -> dict[str, Any]:
    paid = remittances.paid_total(connection, bill["bill_id"])
    invoiced = Decimal(bill["amount_invoiced"])
    return {
        "extension": [
            extension("amount-invoiced", valueMoney=money(invoiced)),
            extension("shortfall", valueMoney=money(invoiced - paid)),
            extension("patient-name", valueString=bill["patient_name"]),
            extension("membership-number", valueString=bill["membership_number"]),
        ],
        "identifier": {"system": SYSTEM_BILL_ID, "value": bill["bill_id"]},
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/payment-type", "code": "payment"}]},
        "request": {"identifier": {"system": SYSTEM_INVOICE_NUMBER, "value": bill["invoice_number"]}},
        "response": {"reference": f"ClaimResponse/{bill['bill_id']}"},
        "submitter": {"identifier": {"system": SYSTEM_HEALTHCODE_IDENTIFIER, "value": bill["provider_number"]}},
        "date": batch["payment_date"],
        "amount": money(paid),
    }


def payment_reconciliation(connection: sqlite3.Connection, batch: sqlite3.Row, with_details: bool) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "PaymentReconciliation",
        "id": batch["remittance_id"],
        "extension": [extension("insurer", valueString=batch["insurer_identifier"])],
        "identifier": [{"system": SYSTEM_PAYMENT_REFERENCE, "value": batch["payment_reference"]}],
        "status": "active",
        "created": batch["created_at"],
        "paymentIssuer": insurer_reference(batch["insurer_identifier"]),
        "outcome": "complete",
        "disposition": "Remittance batch",
        "paymentDate": batch["payment_date"],
        "paymentAmount": money(Decimal(batch["payment_amount"])),
        "paymentIdentifier": {"system": SYSTEM_PAYMENT_REFERENCE, "value": batch["payment_reference"]},
    }
    if with_details:
        resource["detail"] = [
            _payment_detail(connection, bill, batch)
            for bill in remittances.bills_in(connection, batch["remittance_id"])
        ]
    return resource


def remittance_summary(connection: sqlite3.Connection, bill: sqlite3.Row, batch: sqlite3.Row) -> dict[str, Any]:
    """One remitted bill as a PaymentReconciliation: what the summary search returns."""
    detail = _payment_detail(connection, bill, batch)
    return {
        "resourceType": "PaymentReconciliation",
        "id": f"{batch['remittance_id']}-{bill['bill_id']}",
        "extension": [
            extension("insurer", valueString=batch["insurer_identifier"]),
            extension("remittance-id", valueString=batch["remittance_id"]),
        ],
        "identifier": [{"system": SYSTEM_PAYMENT_REFERENCE, "value": batch["payment_reference"]}],
        "status": "active",
        "created": batch["created_at"],
        "paymentIssuer": insurer_reference(batch["insurer_identifier"]),
        "outcome": "complete",
        "paymentDate": batch["payment_date"],
        "paymentAmount": detail["amount"],
        "paymentIdentifier": {"system": SYSTEM_PAYMENT_REFERENCE, "value": batch["payment_reference"]},
        "detail": [detail],
    }
