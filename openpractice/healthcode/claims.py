"""Invoice -> FHIR R4 `Claim`: the one place the bill's mapping lives (docs/sandbox.md,
"Submitting a bill: the Claim mapping"). Healthcode's own submit-bill specification is not
public; when a practice obtains it, this module is what changes.

Built from the same BillFacts the pre-submission check reads, so what was checked is what is
sent. Amounts are Decimal all the way to the JSON text (see `dumps`)."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

from fhir.resources.R4B.claim import Claim

from openpractice.healthcode.rules import BillFacts

NS = "https://openpractice.org/fhir/healthcode"
SYSTEM_INVOICE_NUMBER = f"{NS}/sid/invoice-number"
SYSTEM_INVOICE_VERSION = f"{NS}/sid/invoice-version"
SYSTEM_INSURER = f"{NS}/sid/insurer-identifier"
SYSTEM_MEMBERSHIP = f"{NS}/sid/membership-number"
SYSTEM_HEALTHCODE_IDENTIFIER = f"{NS}/sid/healthcode-identifier"
SYSTEM_LOCATION_600 = f"{NS}/sid/location-600"
SYSTEM_BILL_ID = f"{NS}/sid/bill-id"
SYSTEM_SETTING = f"{NS}/CodeSystem/setting"
SYSTEM_ISC = f"{NS}/CodeSystem/isc"
SYSTEM_CCSD = f"{NS}/CodeSystem/ccsd"
SYSTEM_ICD10 = "http://hl7.org/fhir/sid/icd-10"
SYSTEM_CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
SYSTEM_PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
SYSTEM_PAYEE_TYPE = "http://terminology.hl7.org/CodeSystem/payeetype"
SYSTEM_RELATED = "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship"
FHIR_SEX = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


def version_identifier(*, practice_id: int, invoice_id: int, version: int) -> str:
    """The invoice-version identifier, also the Idempotency-Key. Made once, stored with the
    Submission and sent with every attempt, so it is stable across retries and restarts; the
    random part keeps it unique at the clearing house even if database ids are ever reused (a
    restored backup, a re-installed practice), which would otherwise replay someone else's bill."""
    return f"op-{practice_id}-inv-{invoice_id}-v{version}-{uuid.uuid4().hex[:12]}"


def _money(value: Decimal) -> dict:
    return {"value": Decimal(value).quantize(Decimal("0.01")), "currency": "GBP"}


def _identifier(system: str, value: str) -> dict:
    if not value:  # FHIR forbids an empty identifier: name the gap instead (the check reports it)
        return {"display": "no identifier"}
    return {"identifier": {"system": system, "value": value}}


def build_claim(facts: BillFacts, *, version_key: str, replaces_bill_id: str = "") -> dict:
    # FHIR JSON: values of every shape, so the dicts are typed dict[str, object].
    patient: dict[str, object] = {
        "resourceType": "Patient",
        "id": "patient",
        "name": [{"family": facts.patient_last_name, "given": [facts.patient_first_name]}],
    }
    if facts.patient_date_of_birth:
        patient["birthDate"] = facts.patient_date_of_birth.isoformat()
    if facts.patient_postcode:
        patient["address"] = [{"postalCode": facts.patient_postcode}]
    if facts.patient_sex in FHIR_SEX:
        patient["gender"] = FHIR_SEX[facts.patient_sex]
    insurance: dict[str, object] = {
        "sequence": 1,
        "focal": True,
        "coverage": _identifier(SYSTEM_MEMBERSHIP, facts.membership_number),
    }
    if facts.auth_code:
        insurance["preAuthRef"] = [facts.auth_code]
    items: list[dict[str, object]] = []
    total = Decimal("0.00")
    for line in facts.lines:
        codings: list[dict[str, str]] = []
        if line.service_code:
            codings.append({"system": SYSTEM_ISC, "code": line.service_code})
        if line.procedure_code:
            codings.append({"system": SYSTEM_CCSD, "code": line.procedure_code})
        product: dict[str, object] = {"coding": codings} if codings else {"text": "service"}
        item: dict[str, object] = {
            "sequence": line.sequence,
            "productOrService": product,
            "quantity": {"value": line.quantity},
            "unitPrice": _money(line.unit_price),
            "net": _money(line.net_amount),
        }
        if line.service_date:
            item["servicedDate"] = line.service_date.isoformat()
        items.append(item)
        total += line.net_amount
    provider_system = SYSTEM_LOCATION_600 if facts.provider_is_location else SYSTEM_HEALTHCODE_IDENTIFIER
    claim: dict[str, object] = {
        "resourceType": "Claim",
        "contained": [patient],
        "identifier": [
            {"system": SYSTEM_INVOICE_NUMBER, "value": facts.invoice_number},
            {"system": SYSTEM_INVOICE_VERSION, "value": version_key},
        ],
        "status": "active",
        "type": {"coding": [{"system": SYSTEM_CLAIM_TYPE, "code": "professional"}]},
        "subType": {"coding": [{"system": SYSTEM_SETTING, "code": facts.setting}]},
        "use": "claim",
        "patient": {"reference": "#patient"},
        "created": (facts.invoice_date.isoformat() if facts.invoice_date else None),
        "insurer": _identifier(SYSTEM_INSURER, facts.insurer_identifier),
        "provider": _identifier(provider_system, facts.provider_number),
        "priority": {"coding": [{"system": SYSTEM_PRIORITY, "code": "normal"}]},
        "payee": {
            "type": {"coding": [{"system": SYSTEM_PAYEE_TYPE, "code": "provider"}]},
            "party": _identifier(
                SYSTEM_LOCATION_600 if facts.payee_is_location else SYSTEM_HEALTHCODE_IDENTIFIER,
                facts.payee_number or facts.provider_number,
            ),
        },
        "insurance": [insurance],
        "item": items,
        "total": _money(total),
    }
    if facts.first_date_of_service:
        claim["billablePeriod"] = {"start": facts.first_date_of_service.isoformat()}
    if facts.location_number:
        claim["facility"] = _identifier(SYSTEM_LOCATION_600, facts.location_number)
    if facts.diagnoses:
        claim["diagnosis"] = [
            {"sequence": n, "diagnosisCodeableConcept": {"coding": [{"system": SYSTEM_ICD10, "code": code}]}}
            for n, code in enumerate(facts.diagnoses, start=1)
        ]
    if replaces_bill_id:
        claim["related"] = [
            {
                "relationship": {"coding": [{"system": SYSTEM_RELATED, "code": "prior"}]},
                "claim": _identifier(SYSTEM_BILL_ID, replaces_bill_id),
            }
        ]
    if claim["created"] is None:
        del claim["created"]
    return claim


def validate_structure(claim: dict, *, text: str | None = None) -> None:
    """Raise ValueError naming the element if fhir.resources (R4B) finds the Claim malformed.
    `text`: the claim's JSON when the caller has it already (the text that will be sent)."""
    try:
        Claim.model_validate(json.loads(text if text is not None else dumps(claim)))
    except Exception as exc:  # pydantic ValidationError: say which element
        raise ValueError(f"The Claim for this invoice is not valid FHIR: {str(exc).splitlines()[0:3]}") from None


_DECIMAL = "\u0000dec:"


def dumps(claim: dict) -> str:
    """JSON with amounts written exactly as their Decimal text (180.00, never 180.0000001)."""

    def default(value):
        if isinstance(value, Decimal):
            return f"{_DECIMAL}{value}{_DECIMAL}"
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    text = json.dumps(claim, default=default, separators=(",", ":"), ensure_ascii=False)
    marker = json.dumps(_DECIMAL)[1:-1]  # how the marker reads inside a JSON string
    return text.replace(f'"{marker}', "").replace(f'{marker}"', "")
