"""The pre-submission check: every rule the clearing house applies that can be known locally.

One module, three parts:
1. `BillFacts` / `LineFacts`: what a bill says, read from an invoice (`facts_for_invoices`).
2. `Knowledge`: what we know that the bill does not say (codes, accepted lists, maxima, insurer
   rules, numbers already billed, the last Find Member answer), loaded in bulk and cached, so a
   batch of thousands of bills costs a handful of queries.
3. `check_bill(facts, knowledge, today)`: pure rules, returning problems as Healthcode reports them:
   Field / Error / Suggestion, with the same rule ids and field names as the clearing house
   (sandbox/rules.py) so a problem found here reads like the failure it prevents.

Rules the clearing house applies that cannot be known locally, and how we get closest:
- the member database (name, date of birth, postcode, cover on the date): from the last Find
  Member answer for exactly these details (healthcode.MembershipCheck); without one the check
  warns but does not block;
- whether Healthcode knows a practitioner or 600 number, and whether the insurer recognises the
  practitioner: locally only the formats (accounts/validators.py, practices/validators.py);
- insurers whose membership format is not published: the general check in coding/insurer_formats.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from decimal import Decimal

from openpractice.coding import insurer_formats as formats

BILL = "bill"
LINE = "line"
ERROR = "error"
WARNING = "warning"

ICD10_CODE = re.compile(r"^[A-TV-Z]\d{2}(?:\.\d{1,2})?$")  # the clearing house's ICD-10 shape
HEALTHCODE_IDENTIFIER = re.compile(r"^\d{5,10}$")
LOCATION_600 = re.compile(r"^600\d{6}$")
AXA = "ppp"
VITALITY = "slh"
VITALITY_MEMBER_NUMBER = re.compile(r"^12\d{8}$")
SETTINGS = ("I", "D", "O")


@dataclasses.dataclass(frozen=True)
class Problem:
    rule: str
    level: str  # BILL or LINE
    field: str  # Healthcode's field name (InvoiceNo, RegistrationNo, ...)
    error: str
    suggestion: str
    line: int | None = None
    severity: str = ERROR  # ERROR blocks submission; WARNING is advice
    fix: str = "invoice"  # where to fix it: invoice | patient | practitioner | product | location | coding

    @property
    def blocks(self) -> bool:
        return self.severity == ERROR

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class LineFacts:
    sequence: int
    service_date: dt.date | None
    quantity: int
    unit_price: Decimal
    net_amount: Decimal
    service_code: str  # ISC
    procedure_code: str  # CCSD
    product_id: int | None = None


@dataclasses.dataclass(frozen=True)
class BillFacts:
    invoice_id: int  # always a saved invoice (BillFacts are read from the database)
    invoice_number: str
    is_insurer_bill: bool
    is_void: bool
    insurer_identifier: str
    insurer_name: str
    setting: str  # I, D or O
    admission_date: dt.date | None
    membership_number: str
    auth_code: str
    patient_first_name: str
    patient_last_name: str
    patient_date_of_birth: dt.date | None
    patient_postcode: str
    provider_number: str
    provider_is_location: bool
    payee_number: str
    payee_is_location: bool
    facility_chosen: bool
    location_number: str
    diagnoses: tuple[str, ...]
    lines: tuple[LineFacts, ...]
    relationship_id: int | None = None
    patient_id: int | None = None
    practitioner_id: int | None = None
    patient_sex: str = ""
    invoice_date: dt.date | None = None

    @property
    def first_date_of_service(self) -> dt.date | None:
        dates = [line.service_date for line in self.lines if line.service_date]
        return min(dates) if dates else None

    @property
    def membership_fingerprint(self) -> str:
        return membership_fingerprint(
            insurer=self.insurer_identifier,
            number=self.membership_number,
            first=self.patient_first_name,
            last=self.patient_last_name,
            born=self.patient_date_of_birth,
            postcode=self.patient_postcode,
            active_on=self.first_date_of_service,
        )


def membership_fingerprint(*, insurer, number, first, last, born, postcode, active_on) -> str:
    def norm(text) -> str:
        return "".join(str(text or "").split()).upper()

    parts = [
        norm(insurer),
        norm(number),
        norm(first),
        norm(last),
        str(born or ""),
        norm(postcode),
        str(active_on or ""),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class InsurerFacts:
    member_check: str = "format"
    requires_diagnosis: bool = False
    requires_agreed_fees: bool = False
    time_limit_months: int | None = None


@dataclasses.dataclass(frozen=True)
class MemberAnswer:
    outcome: str  # healthcode.models.MembershipOutcome values
    differing_fields: tuple[str, ...] = ()
    message: str = ""


class Knowledge:
    """What the check needs beyond the bill. Subclassed by the database-backed version; tests may
    pass a plain one."""

    def insurer(self, identifier: str) -> InsurerFacts:
        return InsurerFacts()

    def code_known(self, system: str, code: str) -> bool:
        return True

    def code_active(self, system: str, code: str, on: dt.date) -> bool:
        return True

    def code_accepted(self, insurer: str, code: str, on: dt.date) -> bool:
        return True

    def maximum_fee(self, insurer: str, system: str, code: str, on: dt.date) -> Decimal | None:
        return None

    def invoice_number_taken(self, insurer: str, number: str, invoice_id: int | None) -> bool:
        return False

    def member_answer(self, facts: BillFacts) -> MemberAnswer | None:
        return None


def _problem(
    rule: str, level: str, field: str, error: str, suggestion: str, *, line=None, severity=ERROR, fix="invoice"
) -> Problem:
    return Problem(rule, level, field, error, suggestion, line, severity, fix)


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` earlier, clamped to the end of a shorter month (31 Aug - 6 = 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last_day))


def check_bill(facts: BillFacts, knowledge: Knowledge, today: dt.date) -> list[Problem]:
    """Every problem the clearing house would report for this bill, that we can know here."""
    problems: list[Problem] = []
    if facts.is_void:
        return [_problem("invoice-void", BILL, "InvoiceNo", "This invoice is void", "Raise a new invoice")]
    if not facts.is_insurer_bill:
        return [
            _problem(
                "not-an-insurer-bill",
                BILL,
                "Insurer",
                "This invoice is to the patient, not an insurer",
                "Bill an insurer of the patient to submit to Healthcode",
            )
        ]
    if not facts.insurer_identifier:
        return [
            _problem(
                "insurer-identifier-missing",
                BILL,
                "Insurer",
                f"{facts.insurer_name or 'The insurer'} has no Healthcode identifier (Insurance) yet",
                "Set the insurer's Healthcode identifier in the insurer directory (Settings › Coding › Insurers), "
                "or sync the directory from Healthcode",
                fix="insurer",
            )
        ]
    insurer = knowledge.insurer(facts.insurer_identifier)
    name = facts.insurer_name
    problems += _invoice_number(facts, knowledge)
    if facts.setting not in SETTINGS:
        problems.append(
            _problem(
                "setting-invalid",
                BILL,
                "Setting",
                f"Setting '{facts.setting}' is not valid",
                "Use I (in-patient), D (day case) or O (out-patient)",
            )
        )
    elif facts.setting in ("I", "D") and facts.admission_date is None:
        problems.append(
            _problem(
                "admission-date-missing",
                BILL,
                "Setting",
                "An inpatient or day case bill needs the admission date",
                "Enter the admission date (and the discharge date once known)",
            )
        )
    problems += _membership(facts, knowledge, insurer)
    # An Allianz Partners member with an Aetna Americas W number has Aetna's authorisation format.
    whose = {"identifier": facts.insurer_identifier, "name": name, "registration_number": facts.membership_number}
    auth_shapes = formats.authorisation_formats(**whose)
    if facts.auth_code and auth_shapes:
        result = formats.check_authorisation_code(facts.auth_code, **whose)
        if not result.ok:
            problems.append(
                _problem(
                    "authorisation-format",
                    BILL,
                    "AuthCode",
                    f"Authorisation code '{facts.auth_code}' is not in a valid format for {name}",
                    f"Valid formats: {auth_shapes}",
                )
            )
    problems += _dates(facts, insurer, today)
    problems += _provider_and_places(facts)
    problems += _diagnosis(facts, insurer)
    for line in facts.lines:
        problems += _line(facts, line, knowledge, insurer, today)
    return problems


def _invoice_number(facts: BillFacts, knowledge: Knowledge) -> list[Problem]:
    number = facts.invoice_number
    if not number:
        return []  # a draft gets its number when it is issued, just before submission
    problems = []
    if facts.insurer_identifier == AXA and (len(number) > 10 or "." in number):
        problems.append(
            _problem(
                "invoice-number-axa-format",
                BILL,
                "InvoiceNo",
                "AXA Health invoice numbers must be at most 10 characters with no full stops",
                "Shorten the invoice number to 10 characters and remove any full stops",
            )
        )
    if knowledge.invoice_number_taken(facts.insurer_identifier, number, facts.invoice_id):
        problems.append(
            _problem(
                "invoice-number-duplicate",
                BILL,
                "InvoiceNo",
                f"Invoice number {number} has already been used for this insurer",
                "Give every bill to an insurer its own invoice number",
            )
        )
    return problems


MEMBER_FIELD_RULES = {
    "firstName": (
        "member-name-mismatch",
        "PatientName",
        "Patient name does not match {name}'s member record",
        "Use the patient's name exactly as the insurer holds it",
    ),
    "lastName": (
        "member-name-mismatch",
        "PatientName",
        "Patient name does not match {name}'s member record",
        "Use the patient's name exactly as the insurer holds it",
    ),
    "dateOfBirth": (
        "member-date-of-birth-mismatch",
        "PatientDOB",
        "Patient date of birth does not match {name}'s member record",
        "Check the patient's date of birth",
    ),
    "postCode": (
        "member-postcode-mismatch",
        "PatientPostcode",
        "Patient postcode does not match {name}'s member record",
        "Use the postcode the insurer holds for the member",
    ),
}


def _membership(facts: BillFacts, knowledge: Knowledge, insurer: InsurerFacts) -> list[Problem]:
    number, name = facts.membership_number, facts.insurer_name
    if not number:
        return [
            _problem(
                "registration-number-missing",
                BILL,
                "RegistrationNo",
                "Registration (membership) number is missing",
                "Enter the patient's membership number from the insurer",
                fix="patient",
            )
        ]
    if facts.insurer_identifier == VITALITY and VITALITY_MEMBER_NUMBER.match(number):
        return [
            _problem(
                "registration-number-vitality-member-number",
                BILL,
                "RegistrationNo",
                f"'{number}' is a Vitality member number, not the policy number",
                "Use the 8-digit Vitality policy number",
                fix="patient",
            )
        ]
    shapes = formats.registration_formats(identifier=facts.insurer_identifier, name=name)
    if shapes and not formats.check_registration_number(number, identifier=facts.insurer_identifier, name=name).ok:
        return [
            _problem(
                "registration-number-format",
                BILL,
                "RegistrationNo",
                f"Registration number '{number}' is not in a valid format for {name}",
                f"Valid formats: {shapes}",
                fix="patient",
            )
        ]
    if insurer.member_check != "database":
        return []
    answer = knowledge.member_answer(facts)
    if answer is None:
        return [
            _problem(
                "member-not-checked",
                BILL,
                "RegistrationNo",
                f"The membership has not been checked with {name} for these details",
                "Run Check membership on the patient's insurance",
                severity=WARNING,
                fix="patient",
            )
        ]
    if answer.outcome == "invalid":
        return [
            _problem(
                "registration-number-format",
                BILL,
                "RegistrationNo",
                f"Registration number '{number}' is not in a valid format for {name}",
                answer.message or "Check the number on the patient's insurance card",
                fix="patient",
            )
        ]
    if answer.outcome == "not_found":
        return [
            _problem(
                "member-not-found",
                BILL,
                "RegistrationNo",
                f"Membership number {number} was not found in {name}'s member database",
                "Check the membership number against the patient's insurance card, or run Find Member",
                fix="patient",
            )
        ]
    problems, seen = [], set()
    for field in answer.differing_fields:
        if field in MEMBER_FIELD_RULES and MEMBER_FIELD_RULES[field][0] not in seen:
            rule, hc_field, error, suggestion = MEMBER_FIELD_RULES[field]
            seen.add(rule)
            problems.append(_problem(rule, BILL, hc_field, error.format(name=name), suggestion, fix="patient"))
    if answer.outcome == "lapsed" or "policyActiveOn" in answer.differing_fields:
        first = facts.first_date_of_service
        problems.append(
            _problem(
                "member-cover-not-active",
                BILL,
                "RegistrationNo",
                f"The member's cover was not active on {first.isoformat() if first else 'the date of service'}",
                "Check the patient's cover dates with the insurer; the patient may need to pay directly",
                fix="patient",
            )
        )
    return problems


def _dates(facts: BillFacts, insurer: InsurerFacts, today: dt.date) -> list[Problem]:
    first = facts.first_date_of_service
    if first is None:
        return [
            _problem(
                "first-date-of-service-missing",
                BILL,
                "FDOS",
                "First date of service is missing",
                "Enter the date treatment started",
            )
        ]
    if first > today:
        return [
            _problem(
                "first-date-of-service-future",
                BILL,
                "FDOS",
                f"First date of service {first.isoformat()} is after today",
                "Submit the bill on or after the date of service",
            )
        ]
    months = insurer.time_limit_months
    if months and first < months_before(today, months):
        return [
            _problem(
                "insurer-time-limit",
                BILL,
                "FDOS",
                f"{facts.insurer_name} does not accept bills more than {months} months after the date of service",
                "Contact the insurer about a late bill, or bill the patient",
            )
        ]
    return []


def _provider_and_places(facts: BillFacts) -> list[Problem]:
    problems = []
    provider = facts.provider_number
    if facts.provider_is_location:
        problems.append(
            _problem(
                "provider-unknown",
                BILL,
                "ProviderNo",
                "Provider/Payee not mapped: the provider is the treating practitioner's Healthcode "
                "identifier, not a 600 number",
                "Make the practitioner the provider and the facility the payee",
            )
        )
    elif not provider:
        problems.append(
            _problem(
                "provider-unknown",
                BILL,
                "ProviderNo",
                "Provider/Payee not mapped: the practitioner has no Healthcode identifier",
                "Enter the practitioner's Healthcode identifier (Settings › Users)",
                fix="practitioner",
            )
        )
    elif not HEALTHCODE_IDENTIFIER.match(provider):
        problems.append(
            _problem(
                "provider-unknown",
                BILL,
                "ProviderNo",
                f"Provider/Payee not mapped: Healthcode identifier '{provider}' is not known",
                "Check the practitioner's Healthcode identifier; a GMC number needs its leading zero (e.g. 0651978)",
                fix="practitioner",
            )
        )
    elif len(provider) == 6:
        problems.append(
            _problem(
                "provider-leading-zero",
                BILL,
                "ProviderNo",
                f"Healthcode identifier '{provider}' has 6 digits: probably a GMC number without its leading zero",
                f"If so, enter it as 0{provider}",
                severity=WARNING,
                fix="practitioner",
            )
        )
    payee = facts.payee_number
    if facts.payee_is_location and not LOCATION_600.match(payee or ""):
        problems.append(
            _problem(
                "payee-unknown",
                BILL,
                "Payee No",
                f"Payee '{payee}' is not known" if payee else "The payee location has no 600 number",
                "Use the Healthcode identifier of the practitioner or the 600 number of the facility being paid",
                fix="location",
            )
        )
    if facts.facility_chosen and not LOCATION_600.match(facts.location_number or ""):
        problems.append(
            _problem(
                "location-unknown",
                BILL,
                "Treating hospital",
                f"Location '{facts.location_number}' is not a known Healthcode 600 number"
                if facts.location_number
                else "The facility has no Healthcode 600 number",
                "Check the facility's Healthcode 600 number",
                fix="location",
            )
        )
    return problems


def _diagnosis(facts: BillFacts, insurer: InsurerFacts) -> list[Problem]:
    if not facts.diagnoses:
        if insurer.requires_diagnosis:
            return [
                _problem(
                    "diagnosis-required",
                    BILL,
                    "Diagnosis",
                    f"{facts.insurer_name} requires a diagnosis",
                    "Add the ICD-10 diagnosis code",
                )
            ]
        return []
    return [
        _problem(
            "diagnosis-format",
            BILL,
            "Diagnosis",
            f"Diagnosis '{code}' is not an ICD-10 code",
            "Use an ICD-10 code such as M17.1",
        )
        for code in facts.diagnoses
        if not ICD10_CODE.match(code)
    ]


def _line(
    facts: BillFacts, line: LineFacts, knowledge: Knowledge, insurer: InsurerFacts, today: dt.date
) -> list[Problem]:
    seq, problems = line.sequence, []
    name = facts.insurer_name
    service_date = line.service_date or facts.first_date_of_service or today

    def add(rule, field, error, suggestion, fix="product"):
        problems.append(_problem(rule, LINE, field, error, suggestion, line=seq, fix=fix))

    if line.service_date and line.service_date > today:
        add(
            "service-date-future",
            "ServiceDate",
            f"Line date of service {line.service_date.isoformat()} is after today",
            "Submit the bill on or after the date of service",
            fix="invoice",
        )
    if not line.service_code and not line.procedure_code:
        add(
            "line-code-missing",
            "ServiceCode",
            "Charge line has neither an industry standard code nor a procedure code",
            "Give the line its industry standard code (ISC) or CCSD procedure code",
        )
    if line.service_code and not knowledge.code_known("isc", line.service_code):
        add(
            "service-code-unknown",
            "ServiceCode",
            f"Industry standard code '{line.service_code}' is not known",
            "Pick the code from the Healthcode ISC code set",
        )
    if line.procedure_code:
        code = line.procedure_code
        if not knowledge.code_known("ccsd", code):
            add(
                "procedure-code-unknown",
                "ProcCode",
                f"Procedure code '{code}' is not a known CCSD code",
                "Pick the code from the CCSD schedule",
            )
        elif not knowledge.code_active("ccsd", code, service_date):
            add(
                "procedure-code-inactive",
                "ProcCode",
                f"Procedure code '{code}' is not active on {service_date.isoformat()}",
                "Use the CCSD code in force on the date of service",
            )
        elif not knowledge.code_accepted(facts.insurer_identifier, code, service_date):
            add(
                "procedure-code-not-accepted",
                "ProcCode",
                f"{name} does not accept procedure code '{code}'",
                "Use a code from the insurer's accepted code list",
            )
    if line.quantity < 1:
        add(
            "quantity-invalid",
            "Quantity",
            "Quantity must be a whole number of at least 1",
            "Enter how many times the service was given",
            fix="invoice",
        )
    else:
        expected = (line.unit_price * line.quantity).quantize(Decimal("0.01"))
        if expected != line.net_amount.quantize(Decimal("0.01")):
            add(
                "net-total-mismatch",
                "NetTotal",
                f"Net total {line.net_amount:.2f} is not quantity x unit price ({expected:.2f})",
                "Recalculate the line total",
                fix="invoice",
            )
    if insurer.requires_agreed_fees:
        maximum = None
        for system, code in (("ccsd", line.procedure_code), ("isc", line.service_code)):
            if code:
                maximum = knowledge.maximum_fee(facts.insurer_identifier, system, code, service_date)
                if maximum is not None:
                    break
        if maximum is not None and line.unit_price > maximum:
            add(
                "fee-above-maximum",
                "NetTotal",
                f"Insurer requires agreed fee for service: {line.unit_price:.2f} is above {name}'s maximum of "
                f"{maximum:.2f}",
                "Charge the insurer its agreed fee; any difference cannot be billed to the insurer",
            )
    return problems


def result_changes_on(facts: BillFacts, insurer: InsurerFacts, today: dt.date) -> dt.date | None:
    """The first day after `today` on which the calendar alone could change this bill's check (a
    stored check is checked again then): a date of service reached, or the insurer's time limit
    passed; tomorrow when no line has a date (its codes are checked against today). None when no
    later day can change it."""
    dates = [line.service_date for line in facts.lines if line.service_date]
    if not dates:
        return today + dt.timedelta(days=1)
    days = [day for day in dates if day > today]
    first = min(dates)
    months = insurer.time_limit_months
    if months and first <= today:
        # The first day on which `first < months_before(day, months)`, the time-limit rule above.
        day = first + dt.timedelta(days=28 * months)
        while not first < months_before(day, months):
            day += dt.timedelta(days=1)
        if day > today:
            days.append(day)
    return min(days) if days else None


def blocking(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.blocks]
