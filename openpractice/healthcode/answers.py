"""Reading the clearing house's answers: ClaimResponse (a bill and its status), OperationOutcome
(why a request was refused), Bundles of Coverage (Find Member) and Basic (code sets).

A reply that is not what the API promises raises AnswerError naming what was wrong, rather than
letting a half-understood answer change a bill's status."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re

from openpractice.billing.models import HealthcodeStatus

logger = logging.getLogger("openpractice.healthcode")

NS = "https://openpractice.org/fhir/healthcode"
EXT = f"{NS}/StructureDefinition/"
# The bill statuses Healthcode publishes, in its own spelling, and where each leaves a bill here.
PUBLISHED_STATUSES: dict[str, HealthcodeStatus] = {
    "Unprocessed": HealthcodeStatus.UNPROCESSED,
    "In-process": HealthcodeStatus.IN_PROCESS,
    "NotRequired": HealthcodeStatus.NOT_REQUIRED,
    "AwaitingCorrection": HealthcodeStatus.FAILED,
    "Validated": HealthcodeStatus.VALIDATED,
    "Cancelled": HealthcodeStatus.CANCELLED,
    "AwaitingCollection": HealthcodeStatus.AWAITING_COLLECTION,
    "Collected": HealthcodeStatus.COLLECTED,
    "NotFound": HealthcodeStatus.NOT_FOUND,
    "Unspecified": HealthcodeStatus.UNSPECIFIED,
}
# Older spellings that mean the same (the sandbox's words before it used Healthcode's own).
_OLDER_WORDS = {"Failed": HealthcodeStatus.FAILED}


def _folded(words: str) -> str:
    """ "In-process", "Inprocess", "in process" and "IN_PROCESS" are one status: Healthcode's own
    listings spell them more than one way."""
    return re.sub(r"[^a-z]", "", words.lower())


STATUS_WORDS: dict[str, HealthcodeStatus] = {
    _folded(words): status for words, status in {**PUBLISHED_STATUSES, **_OLDER_WORDS}.items()
}


def status_for(words: object) -> HealthcodeStatus:
    """The app's status for Healthcode's words. Healthcode may add values without notice: one we
    do not know is Unspecified (its words are kept with the bill and logged), never an error."""
    status = STATUS_WORDS.get(_folded(words)) if isinstance(words, str) else None
    if status is None:
        logger.warning("Healthcode sent a bill status OpenPractice does not know: %r; shown as Unspecified", words)
        return HealthcodeStatus.UNSPECIFIED
    return status


class AnswerError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclasses.dataclass(frozen=True)
class BillAnswer:
    bill_id: str
    status: str  # HealthcodeStatus value
    words: str  # the clearing house's own status words, kept as sent (even ones we do not know)
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
    raw = ext.get("bill-status") or body.get("disposition")
    status = status_for(raw)
    words = str(raw)[:200] if raw not in (None, "") else "Unspecified"
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
        status=status,
        words=words,
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
