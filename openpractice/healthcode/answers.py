"""Reading the clearing house's answers: ClaimResponse (a bill and its status), OperationOutcome
(why a request was refused), Bundles of Coverage (Find Member) and Basic (code sets).

A reply that is not what the API promises raises AnswerError naming what was wrong, rather than
letting a half-understood answer change a bill's status."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from openpractice.billing.models import HealthcodeStatus

NS = "https://openpractice.org/fhir/healthcode"
EXT = f"{NS}/StructureDefinition/"
STATUS_WORDS = {
    "Unprocessed": HealthcodeStatus.UNPROCESSED,
    "Validated": HealthcodeStatus.VALIDATED,
    "Failed": HealthcodeStatus.FAILED,
    "Awaiting collection": HealthcodeStatus.AWAITING_COLLECTION,
    "Collected": HealthcodeStatus.COLLECTED,
    "Cancelled": HealthcodeStatus.CANCELLED,
}


class AnswerError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclasses.dataclass(frozen=True)
class BillAnswer:
    bill_id: str
    status: str  # HealthcodeStatus value
    words: str  # the clearing house's own status words
    errors: list[dict]
    collected_at: dt.datetime | None
    replaced_by: str = ""


def parse_json(text: str) -> dict:
    try:
        body = json.loads(text)
    except (ValueError, TypeError):
        raise AnswerError("The clearing house's reply is not JSON.") from None
    if not isinstance(body, dict):
        raise AnswerError("The clearing house's reply is not a FHIR resource.")
    return body


def _extensions(resource: dict) -> dict[str, object]:
    found: dict[str, object] = {}
    for ext in resource.get("extension") or []:
        if isinstance(ext, dict) and str(ext.get("url", "")).startswith(EXT):
            name = ext["url"][len(EXT) :]
            value = next((v for k, v in ext.items() if k.startswith("value")), None)
            found[name] = value
    return found


def _datetime(text) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def claim_response(body: dict) -> BillAnswer:
    if body.get("resourceType") != "ClaimResponse":
        raise AnswerError(f"Expected a ClaimResponse, got {body.get('resourceType') or 'no resourceType'}.")
    bill_id = body.get("id")
    if not isinstance(bill_id, str) or not bill_id:
        raise AnswerError("The ClaimResponse has no bill id (id).")
    ext = _extensions(body)
    words = ext.get("bill-status") or body.get("disposition")
    if words not in STATUS_WORDS:
        raise AnswerError(f"The ClaimResponse's bill status '{words}' is not one of {', '.join(STATUS_WORDS)}.")
    assert isinstance(words, str)  # only text passes the check above: STATUS_WORDS is keyed by str
    errors = []
    for entry in body.get("error") or []:
        entry_ext = _extensions(entry)
        coding = ((entry.get("code") or {}).get("coding") or [{}])[0]
        errors.append(
            {
                "rule": coding.get("code", ""),
                "field": entry_ext.get("error-field", ""),
                "error": (entry.get("code") or {}).get("text") or coding.get("display", ""),
                "suggestion": entry_ext.get("error-suggestion", ""),
                "level": entry_ext.get("error-level", "bill"),
                "line": entry.get("itemSequence"),
            }
        )
    return BillAnswer(
        bill_id=bill_id,
        status=STATUS_WORDS[words],
        words=str(words),
        errors=errors,
        collected_at=_datetime(ext.get("collected-at")),
        replaced_by=str(ext.get("replaced-by") or ""),
    )


def first_claim_response(body: dict) -> BillAnswer | None:
    """The first ClaimResponse of a searchset Bundle (status search), or None when none matched."""
    if body.get("resourceType") == "ClaimResponse":
        return claim_response(body)
    if body.get("resourceType") != "Bundle":
        raise AnswerError("Expected a Bundle of ClaimResponse.")
    for entry in body.get("entry") or []:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == "ClaimResponse":
            return claim_response(resource)
    return None


def outcome_issues(body: dict) -> list[dict]:
    """An OperationOutcome's issues as Field / Error rows (field = the element or header named)."""
    if body.get("resourceType") != "OperationOutcome":
        return [
            {
                "field": "",
                "error": "The clearing house refused the request without saying why.",
                "suggestion": "",
                "level": "bill",
                "line": None,
                "rule": "refused",
            }
        ]
    rows = []
    for issue in body.get("issue") or []:
        rows.append(
            {
                "field": ", ".join(issue.get("expression") or []),
                "error": issue.get("diagnostics", ""),
                "suggestion": "",
                "level": "bill",
                "line": None,
                "rule": issue.get("code", ""),
            }
        )
    return rows


def bundle_resources(body: dict, resource_type: str) -> list[dict]:
    if body.get("resourceType") != "Bundle":
        raise AnswerError(f"Expected a Bundle of {resource_type}.")
    return [
        e["resource"]
        for e in body.get("entry") or []
        if isinstance(e, dict) and (e.get("resource") or {}).get("resourceType") == resource_type
    ]


def paging_total(body: dict) -> int:
    total = body.get("total")
    return int(total) if isinstance(total, int) else 0
