"""The validation rule table: every rule's field, error and suggestion text in one place.

Field names are the ones Healthcode uses in its validation messages (``InvoiceNo``,
``Setting``, ``RegistrationNo``, ``AuthCode``, ``ProviderNo``, ``FDOS``, ``ServiceCode``,
``ProcCode``, ...). Membership and authorisation formats are those Healthcode publishes;
where an insurer's format is not public the sandbox's own choice is marked as such.
"""

from __future__ import annotations

import dataclasses
import re

BILL = "bill"
LINE = "line"


@dataclasses.dataclass(frozen=True)
class Rule:
    rule_id: str
    level: str  # BILL or LINE
    field: str
    error: str  # may contain {placeholders}
    suggestion: str


_RULES = [
    Rule(
        "invoice-number-duplicate",
        BILL,
        "InvoiceNo",
        "Invoice number {invoice_number} has already been used for this insurer",
        "Give every bill to an insurer its own invoice number; to correct a failed bill, "
        "submit a new bill that names the one it replaces",
    ),
    Rule(
        "invoice-number-axa-format",
        BILL,
        "InvoiceNo",
        "AXA Health invoice numbers must be at most 10 characters with no full stops",
        "Shorten the invoice number to 10 characters and remove any full stops",
    ),
    Rule(
        "setting-invalid",
        BILL,
        "Setting",
        "Setting '{setting}' is not valid",
        "Use I (in-patient), D (day case) or O (out-patient)",
    ),
    Rule(
        "registration-number-missing",
        BILL,
        "RegistrationNo",
        "Registration (membership) number is missing",
        "Enter the patient's membership number from the insurer",
    ),
    Rule(
        "registration-number-format",
        BILL,
        "RegistrationNo",
        "Registration number '{membership_number}' is not in a valid format for {insurer_name}",
        "Valid formats: {formats}",
    ),
    Rule(
        "registration-number-vitality-member-number",
        BILL,
        "RegistrationNo",
        "'{membership_number}' is a Vitality member number, not the policy number",
        "Use the 8-digit Vitality policy number",
    ),
    Rule(
        "member-not-found",
        BILL,
        "RegistrationNo",
        "Membership number {membership_number} was not found in {insurer_name}'s member database",
        "Check the membership number against the patient's insurance card, or run Find Member",
    ),
    Rule(
        "member-name-mismatch",
        BILL,
        "PatientName",
        "Patient name does not match {insurer_name}'s member record",
        "Use the patient's name exactly as the insurer holds it",
    ),
    Rule(
        "member-date-of-birth-mismatch",
        BILL,
        "PatientDOB",
        "Patient date of birth does not match {insurer_name}'s member record",
        "Check the patient's date of birth",
    ),
    Rule(
        "member-postcode-mismatch",
        BILL,
        "PatientPostcode",
        "Patient postcode does not match {insurer_name}'s member record",
        "Use the postcode the insurer holds for the member",
    ),
    Rule(
        "member-cover-not-active",
        BILL,
        "RegistrationNo",
        "The member's cover was not active on {first_date_of_service}",
        "Check the patient's cover dates with the insurer; the patient may need to pay directly",
    ),
    Rule(
        "authorisation-format",
        BILL,
        "AuthCode",
        "Authorisation code '{auth_code}' is not in a valid format for {insurer_name}",
        "Valid formats: {formats}",
    ),
    Rule(
        "first-date-of-service-missing",
        BILL,
        "FDOS",
        "First date of service is missing",
        "Enter the date treatment started",
    ),
    Rule(
        "first-date-of-service-future",
        BILL,
        "FDOS",
        "First date of service {first_date_of_service} is after today",
        "Submit the bill on or after the date of service",
    ),
    Rule(
        "insurer-time-limit",
        BILL,
        "FDOS",
        "{insurer_name} does not accept bills more than {months} months after the date of service",
        "Contact the insurer about a late bill, or bill the patient",
    ),
    Rule(
        "provider-unknown",
        BILL,
        "ProviderNo",
        "Provider/Payee not mapped: Healthcode identifier '{provider_number}' is not known",
        "Check the practitioner's Healthcode identifier; a GMC number needs its leading zero (e.g. 0651978)",
    ),
    Rule(
        "provider-not-recognised",
        BILL,
        "ProviderNo",
        "Practitioner {provider_number} is not recognised by {insurer_name}",
        "Ask the insurer to recognise the practitioner before billing them",
    ),
    Rule(
        "payee-unknown",
        BILL,
        "Payee No",
        "Payee '{payee_number}' is not known",
        "Use the Healthcode identifier of the practitioner or the 600 number of the facility being paid",
    ),
    Rule(
        "location-unknown",
        BILL,
        "Treating hospital",
        "Location '{location_number}' is not a known Healthcode 600 number",
        "Check the facility's Healthcode 600 number",
    ),
    Rule(
        "diagnosis-required", BILL, "Diagnosis", "{insurer_name} requires a diagnosis", "Add the ICD-10 diagnosis code"
    ),
    Rule(
        "diagnosis-format",
        BILL,
        "Diagnosis",
        "Diagnosis '{diagnosis}' is not an ICD-10 code",
        "Use an ICD-10 code such as M17.1",
    ),
    Rule(
        "line-code-missing",
        LINE,
        "ServiceCode",
        "Charge line has neither an industry standard code nor a procedure code",
        "Give the line its industry standard code (ISC) or CCSD procedure code",
    ),
    Rule(
        "service-code-unknown",
        LINE,
        "ServiceCode",
        "Industry standard code '{code}' is not known",
        "Pick the code from the Healthcode ISC code set",
    ),
    Rule(
        "procedure-code-unknown",
        LINE,
        "ProcCode",
        "Procedure code '{code}' is not a known CCSD code",
        "Pick the code from the CCSD schedule",
    ),
    Rule(
        "procedure-code-inactive",
        LINE,
        "ProcCode",
        "Procedure code '{code}' is not active on {service_date}",
        "Use the CCSD code in force on the date of service",
    ),
    Rule(
        "procedure-code-not-accepted",
        LINE,
        "ProcCode",
        "{insurer_name} does not accept procedure code '{code}'",
        "Use a code from the insurer's accepted code list",
    ),
    Rule(
        "quantity-invalid",
        LINE,
        "Quantity",
        "Quantity must be a whole number of at least 1",
        "Enter how many times the service was given",
    ),
    Rule(
        "net-total-mismatch",
        LINE,
        "NetTotal",
        "Net total {net_amount} is not quantity x unit price ({expected})",
        "Recalculate the line total",
    ),
    Rule(
        "fee-above-maximum",
        LINE,
        "NetTotal",
        "Insurer requires agreed fee for service: {unit_price} is above {insurer_name}'s maximum of {maximum}",
        "Charge the insurer its agreed fee; any difference cannot be billed to the insurer",
    ),
    Rule(
        "service-date-future",
        LINE,
        "ServiceDate",
        "Line date of service {service_date} is after today",
        "Submit the bill on or after the date of service",
    ),
]

RULES: dict[str, Rule] = {rule.rule_id: rule for rule in _RULES}


@dataclasses.dataclass(frozen=True)
class Format:
    """One accepted shape of a number, with the key Healthcode uses to show it."""

    shown_as: str
    pattern: re.Pattern[str]


def _format(shown_as: str, regex: str) -> Format:
    return Format(shown_as, re.compile(rf"^(?:{regex})$"))


# Aetna Americas members are Allianz Partners members (billed to `alz`) with a W number.
AETNA_AMERICAS_NUMBERS = [
    _format("W + 9 digits (optionally -NN)", r"W\d{9}(?:-\d{2})?"),
    _format("W + 10 digits (optionally -NN)", r"W\d{10}(?:-\d{2})?"),
    _format("W + 4 digits + space + 5 or 6 digits (optionally -NN)", r"W\d{4} \d{5,6}(?:-\d{2})?"),
]

# Membership number formats. Source: Healthcode's "validation rules: membership numbers"
# and AXA's "understanding our membership numbers" pages. Bupa's and Aviva's formats are
# not public: the sandbox's own choice is marked "(sandbox)".
MEMBERSHIP_FORMATS: dict[str, list[Format]] = {
    "alh": [_format("NNNNNN, NNNNNNN or NNNNNNNN", r"\d{6,8}")],
    # Allianz Partners: P numbers, and its Aetna Americas members' W numbers.
    "alz": [_format("P + 4 to 9 digits", r"P\d{4,9}"), *AETNA_AMERICAS_NUMBERS],
    "bui": [_format("XX-NNNN-NNNN-NNNN", r"[A-Z0-9]{2}-\d{4}-\d{4}-\d{4}")],
    "ppp": [
        _format("AXA-AA000000", r"AXA-[A-Z]{2}\d{6}"),
        _format("AA0000000A", r"[A-Z]{2}\d{7}[A-Z]"),
        _format("0000000A", r"\d{7}[A-Z]"),
        _format("AXA/A0000000", r"AXA/[A-Z]\d{7}"),
        _format("HOL/A0000000", r"HOL/[A-Z]\d{7}"),
        _format("AA000000 (Freedom)", r"[A-Z]{2}\d{6}"),
        _format("AAA00000 (Freedom)", r"[A-Z]{3}\d{5}"),
        _format("00000000AA00 (Exeter)", r"\d{8}[A-Z]{2}\d{2}"),
        _format("AA00000000 (Exeter)", r"[A-Z]{2}\d{8}"),
        _format("7 or 6 digits (Exeter)", r"\d{6,7}"),
        _format(
            "AXI|AXE|AXC|BXI|BXE|BXC|HKE|KVE|OGI + 8 digits (AXA Global)",
            r"(?:AXI|AXE|AXC|BXI|BXE|BXC|HKE|KVE|OGI)\d{8}",
        ),
        _format("INTL7 + 6 or 7 digits (AXA Global)", r"INTL7\d{6,7}"),
    ],
    "slh": [_format("8-digit policy number", r"\d{8}")],
    "bup": [_format("8 digits (sandbox)", r"\d{8}")],
    "nuh": [_format("9 digits (sandbox)", r"\d{9}")],
}
# Insurers without a listed format accept 4 to 20 letters, digits, '/', '-' (sandbox choice).
DEFAULT_MEMBERSHIP_FORMAT = [_format("4 to 20 letters, digits, '/' or '-' (sandbox)", r"[A-Za-z0-9/\-]{4,20}")]

VITALITY_MEMBER_NUMBER = re.compile(r"^12\d{8}$")

# Pre-authorisation formats. Source: Healthcode's "validation rules: authorisation numbers".
# AXA does not validate them; insurers not listed are not checked.
AUTHORISATION_FORMATS: dict[str, list[Format]] = {
    "alh": [_format("AAANNNNN", r"[A-Z]{3}\d{5}"), _format("A-ANNNNN", r"[A-Z]-[A-Z]\d{5}")],
    "alz": [_format("letters, digits and hyphens", r"[A-Za-z0-9\-]+")],
    "nuh": [
        _format("NNNNNN/NN/NNNN/NNN", r"\d{6}/\d{2}/\d{4}/\d{3}"),
        _format("NNNNNN\\NN\\NNNN\\NNN", r"\d{6}\\\d{2}\\\d{4}\\\d{3}"),
        _format("NNNNNN/NN", r"\d{6}/\d{2}"),
    ],
}

# Aetna's authorisation formats: for an Allianz Partners member with an Aetna Americas W number.
AETNA_AUTHORISATION_FORMATS = [_format("C + 6 to 10 digits", r"C\d{6,10}"), _format("5 to 8 digits", r"\d{5,8}")]
ALLIANZ_INSURER = "alz"
# Identifiers the sandbox once listed, and the insurer that took them over: a bill to `aet` (the
# former separate "Allianz Partners (Aetna Americas)" entry) is a bill to Allianz Partners.
INSURER_ALIASES = {"aet": ALLIANZ_INSURER}

ICD10_CODE = re.compile(r"^[A-TV-Z]\d{2}(?:\.\d{1,2})?$")
AXA_INSURER = "ppp"
VITALITY_INSURER = "slh"


def membership_formats(insurer_identifier: str) -> list[Format]:
    return MEMBERSHIP_FORMATS.get(insurer_identifier, DEFAULT_MEMBERSHIP_FORMAT)


def matches_any(value: str, formats: list[Format]) -> bool:
    return any(fmt.pattern.match(value) for fmt in formats)


def describe(formats: list[Format]) -> str:
    return "; ".join(fmt.shown_as for fmt in formats)


def authorisation_formats(insurer_identifier: str, membership_number: str) -> list[Format] | None:
    """The authorisation formats for this bill's insurer and member (None: not checked)."""
    if insurer_identifier == ALLIANZ_INSURER and matches_any(membership_number or "", AETNA_AMERICAS_NUMBERS):
        return AETNA_AUTHORISATION_FORMATS
    return AUTHORISATION_FORMATS.get(insurer_identifier)
