"""How a FHIR R4 ``Claim`` carries a Healthcode bill: the one place that knows the mapping.

Healthcode's submit-bill interface is not public, so this mapping is our choice; it is
documented element by element in docs/sandbox.md and the OpenPractice client builds
exactly this. Structural FHIR validity is checked with ``fhir.resources`` (R4B).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox import NAMESPACE, rules

SYSTEM_INVOICE_NUMBER = f"{NAMESPACE}/sid/invoice-number"
SYSTEM_INVOICE_VERSION = f"{NAMESPACE}/sid/invoice-version"
SYSTEM_INSURER = f"{NAMESPACE}/sid/insurer-identifier"
SYSTEM_HEALTHCODE_IDENTIFIER = f"{NAMESPACE}/sid/healthcode-identifier"
SYSTEM_LOCATION_600 = f"{NAMESPACE}/sid/location-600"
SYSTEM_MEMBERSHIP_NUMBER = f"{NAMESPACE}/sid/membership-number"
SYSTEM_BILL_ID = f"{NAMESPACE}/sid/bill-id"
SYSTEM_PAYMENT_REFERENCE = f"{NAMESPACE}/sid/payment-reference"
SYSTEM_SETTING = f"{NAMESPACE}/CodeSystem/setting"
SYSTEM_ISC = f"{NAMESPACE}/CodeSystem/isc"
SYSTEM_CCSD = f"{NAMESPACE}/CodeSystem/ccsd"
SYSTEM_ICD10 = "http://hl7.org/fhir/sid/icd-10"
SYSTEM_RELATED_CLAIM = "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship"
CURRENCY = "GBP"


_CLAIM_STATUS = ("active", "cancelled", "draft", "entered-in-error")
_CLAIM_USE = ("claim", "preauthorization", "predetermination")


class ClaimNotAccepted(Exception):
    """The Claim cannot become a bill at all (answered 4xx, no bill is created)."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems  # (FHIRPath expression, message)


@dataclasses.dataclass(frozen=True)
class BillLine:
    sequence: int
    service_code: str | None  # ISC
    procedure_code: str | None  # CCSD
    service_date: dt.date | None
    quantity: Decimal
    unit_price: Decimal
    net_amount: Decimal


@dataclasses.dataclass(frozen=True)
class BillSubmission:
    invoice_number: str
    invoice_version: str | None
    invoice_date: str
    insurer_identifier: str
    setting: str | None
    membership_number: str | None
    auth_code: str | None
    provider_number: str | None
    payee_number: str | None
    location_number: str | None
    diagnosis: str | None
    first_date_of_service: dt.date | None
    patient_first_name: str
    patient_last_name: str
    patient_date_of_birth: dt.date | None
    patient_postcode: str | None
    replaces_bill_id: str | None
    lines: list[BillLine]

    @property
    def patient_name(self) -> str:
        return f"{self.patient_first_name} {self.patient_last_name}".strip()

    @property
    def amount_invoiced(self) -> Decimal:
        return sum((line.net_amount for line in self.lines), Decimal("0.00"))


def check_fhir_structure(claim: dict[str, Any]) -> None:
    """Validate against the R4B Claim model; raise ClaimNotAccepted naming each problem."""
    from fhir.resources.R4B.claim import Claim  # imported lazily: it is slow to import
    from pydantic import ValidationError

    problems = []
    # fhir.resources types these as plain codes; the value sets are required bindings.
    for element, allowed in (("status", _CLAIM_STATUS), ("use", _CLAIM_USE)):
        if element in claim and claim[element] not in allowed:
            problems.append((f"Claim.{element}", f"{element}: '{claim[element]}' is not one of {', '.join(allowed)}"))
    try:
        Claim.model_validate(claim)
    except ValidationError as exc:
        for error in exc.errors()[:20]:
            location = ".".join(str(part) for part in error["loc"] if part != "__root__")
            problems.append((f"Claim.{location}" if location else "Claim", f"{location or 'Claim'}: {error['msg']}"))
    if problems:
        raise ClaimNotAccepted(problems)


def _identifier_value(identifiers: Any, system: str) -> str | None:
    for identifier in identifiers or []:
        if isinstance(identifier, dict) and identifier.get("system") == system and identifier.get("value"):
            return str(identifier["value"]).strip()
    return None


def _reference_identifier(reference: Any, *systems: str) -> str | None:
    if not isinstance(reference, dict):
        return None
    identifier = reference.get("identifier")
    if isinstance(identifier, dict) and identifier.get("system") in systems and identifier.get("value"):
        return str(identifier["value"]).strip()
    return None


def _code(concept: Any, system: str) -> str | None:
    if not isinstance(concept, dict):
        return None
    for coding in concept.get("coding") or []:
        if coding.get("system") == system and coding.get("code"):
            return str(coding["code"]).strip()
    return None


def _date(text: Any) -> dt.date | None:
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _contained(claim: dict[str, Any], reference: Any, resource_type: str) -> dict[str, Any] | None:
    if not isinstance(reference, dict) or not str(reference.get("reference", "")).startswith("#"):
        return None
    wanted = reference["reference"][1:]
    for resource in claim.get("contained") or []:
        if resource.get("resourceType") == resource_type and resource.get("id") == wanted:
            return resource
    return None


def _money(value: Any, where: str, problems: list[tuple[str, str]]) -> Decimal:
    if not isinstance(value, dict) or value.get("value") is None:
        problems.append((where, f"{where} is required"))
        return Decimal("0.00")
    if value.get("currency", CURRENCY) != CURRENCY:
        problems.append((where, f"{where}.currency must be {CURRENCY}"))
    try:
        return Decimal(str(value["value"]))
    except InvalidOperation:
        problems.append((where, f"{where}.value is not a number"))
        return Decimal("0.00")


def bill_from_claim(claim: dict[str, Any]) -> BillSubmission:
    """Read a structurally valid Claim into a BillSubmission."""
    problems: list[tuple[str, str]] = []
    invoice_number = _identifier_value(claim.get("identifier"), SYSTEM_INVOICE_NUMBER)
    if not invoice_number:
        problems.append(
            ("Claim.identifier", f"Claim.identifier with system {SYSTEM_INVOICE_NUMBER} (InvoiceNo) is required")
        )
    insurer_identifier = _reference_identifier(claim.get("insurer"), SYSTEM_INSURER)
    insurer_identifier = rules.INSURER_ALIASES.get(insurer_identifier or "", insurer_identifier)
    if not insurer_identifier:
        problems.append(("Claim.insurer", f"Claim.insurer.identifier with system {SYSTEM_INSURER} is required"))
    patient = _contained(claim, claim.get("patient"), "Patient")
    if patient is None:
        problems.append(("Claim.patient", "Claim.patient must reference a contained Patient (e.g. '#patient')"))
        patient = {}
    items = claim.get("item") or []
    if not items:
        problems.append(("Claim.item", "Claim.item: at least one charge line is required"))

    name = (patient.get("name") or [{}])[0]
    given = " ".join(name.get("given") or [])
    family = name.get("family") or ""
    address = (patient.get("address") or [{}])[0]
    insurance = (
        next((i for i in claim.get("insurance") or [] if i.get("focal")), None) or ((claim.get("insurance") or [{}])[0])
    )
    pre_auth = insurance.get("preAuthRef") or []
    diagnosis = None
    for entry in claim.get("diagnosis") or []:
        diagnosis = _code(entry.get("diagnosisCodeableConcept"), SYSTEM_ICD10)
        if diagnosis:
            break
    replaces = None
    for related in claim.get("related") or []:
        if _code(related.get("relationship"), SYSTEM_RELATED_CLAIM) == "prior":
            replaces = _reference_identifier(related.get("claim"), SYSTEM_BILL_ID)

    lines = []
    for index, item in enumerate(items):
        where = f"Claim.item[{index}]"
        quantity_value = (item.get("quantity") or {}).get("value", 1)
        try:
            quantity = Decimal(str(quantity_value))
        except InvalidOperation:
            problems.append((f"{where}.quantity", f"{where}.quantity is not a number"))
            quantity = Decimal("1")
        concept = item.get("productOrService")
        lines.append(
            BillLine(
                sequence=int(item.get("sequence") or index + 1),
                service_code=_code(concept, SYSTEM_ISC),
                procedure_code=_code(concept, SYSTEM_CCSD),
                service_date=_date(item.get("servicedDate")),
                quantity=quantity,
                unit_price=_money(item.get("unitPrice"), f"{where}.unitPrice", problems),
                net_amount=_money(item.get("net"), f"{where}.net", problems),
            )
        )
    if problems:
        raise ClaimNotAccepted(problems)

    first_date = _date((claim.get("billablePeriod") or {}).get("start"))
    if first_date is None:
        service_dates = [line.service_date for line in lines if line.service_date]
        first_date = min(service_dates) if service_dates else None
    return BillSubmission(
        invoice_number=invoice_number or "",
        invoice_version=_identifier_value(claim.get("identifier"), SYSTEM_INVOICE_VERSION),
        invoice_date=str(claim.get("created", "")),
        insurer_identifier=insurer_identifier or "",
        setting=_code(claim.get("subType"), SYSTEM_SETTING),
        membership_number=_reference_identifier(insurance.get("coverage"), SYSTEM_MEMBERSHIP_NUMBER),
        auth_code=str(pre_auth[0]).strip() if pre_auth else None,
        provider_number=_reference_identifier(claim.get("provider"), SYSTEM_HEALTHCODE_IDENTIFIER),
        payee_number=_reference_identifier(
            (claim.get("payee") or {}).get("party"), SYSTEM_HEALTHCODE_IDENTIFIER, SYSTEM_LOCATION_600
        ),
        location_number=_reference_identifier(claim.get("facility"), SYSTEM_LOCATION_600),
        diagnosis=diagnosis,
        first_date_of_service=first_date,
        patient_first_name=given,
        patient_last_name=family,
        patient_date_of_birth=_date(patient.get("birthDate")),
        patient_postcode=address.get("postalCode"),
        replaces_bill_id=replaces,
        lines=lines,
    )
