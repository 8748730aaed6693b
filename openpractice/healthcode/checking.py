"""Reads that feed the pre-submission check (rules.py): invoices -> BillFacts, and the
database-backed Knowledge, loaded in bulk and cached for one batch of bills."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import F, Prefetch
from django.utils import timezone

from openpractice.billing.models import SETTING_CODES, BillTo, Invoice, InvoiceLine, ProviderKind, RecordStatus
from openpractice.coding.models import AcceptedCode
from openpractice.coding.normalise import code_key
from openpractice.coding.selectors import insurers_for_practice, visible_codes
from openpractice.healthcode import rules
from openpractice.healthcode.models import InsurerRules, MembershipCheck
from openpractice.healthcode.reference import PUBLISHED_INSURER_RULES
from openpractice.healthcode.rules import BillFacts, InsurerFacts, LineFacts, MemberAnswer, Problem

SYSTEMS = {"isc": "isc", "ccsd": "ccsd", "icd10": "icd10"}  # rule names -> coding.CodeSystem values


@dataclasses.dataclass
class CheckResult:
    invoice_id: int
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.blocks]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.blocks]

    @property
    def passed(self) -> bool:
        return not self.errors


def invoices_for_check(qs):
    return qs.select_related(
        "patient",
        "insurance",
        "insurer_contact__insurer",
        "practitioner__practitioner_profile",
        "payee_location",
        "provider_location",
        "facility",
    ).prefetch_related(Prefetch("lines", queryset=InvoiceLine.objects.order_by("sequence")))


# One row per invoice with everything a bill says, read as plain values: building model objects
# for eight related rows per invoice would cost more than checking the bill.
_FACT_COLUMNS = (
    "id",
    "number",
    "bill_to",
    "record_status",
    "service_setting",
    "admission_date",
    "primary_diagnosis",
    "other_diagnoses",
    "authorisation_code",
    "provider_kind",
    "payee_kind",
    "invoice_date",
    "insurance_id",
    "patient_id",
    "practitioner_id",
    "facility_id",
    "insurer_contact_id",
    "insurer_contact__name",
    "insurer_contact__insurer__healthcode_identifier",
    "insurer_contact__insurer__name",
    "insurance__registration_number",
    "patient__first_name",
    "patient__last_name",
    "patient__date_of_birth",
    "patient__postcode",
    "patient__sex",
    "practitioner__practitioner_profile__healthcode_identifier",
    "provider_location__healthcode_600_number",
    "payee_location__healthcode_600_number",
    "facility__healthcode_600_number",
)
_LINE_COLUMNS = (
    "invoice_id",
    "sequence",
    "service_date",
    "quantity",
    "unit_price",
    "net_amount",
    "industry_standard_code",
    "procedure_code",
    "product_id",
)


def facts_for_queryset(queryset) -> list[BillFacts]:
    """BillFacts for every invoice of `queryset`, in two queries."""
    rows = list(queryset.order_by("pk").values_list(*_FACT_COLUMNS))
    lines: dict[int, list[LineFacts]] = defaultdict(list)
    ids = [row[0] for row in rows]
    for chunk in range(0, len(ids), 900):  # SQLite allows at most 999 parameters
        for invoice_id, *values in (
            InvoiceLine.objects.filter(invoice_id__in=ids[chunk : chunk + 900])
            .order_by("invoice_id", "sequence")
            .values_list(*_LINE_COLUMNS)
        ):
            lines[invoice_id].append(LineFacts(*values))
    return [_facts(dict(zip(_FACT_COLUMNS, row)), tuple(lines[row[0]])) for row in rows]


def _facts(v: dict, lines: tuple) -> BillFacts:
    provider_number = v["practitioner__practitioner_profile__healthcode_identifier"] or ""
    provider_is_location = v["provider_kind"] == ProviderKind.LOCATION
    if provider_is_location:
        provider_number = v["provider_location__healthcode_600_number"] or ""
    payee_is_location = v["payee_kind"] == ProviderKind.LOCATION
    payee_number = (v["payee_location__healthcode_600_number"] or "") if payee_is_location else provider_number
    return BillFacts(
        invoice_id=v["id"],
        invoice_number=v["number"],
        is_insurer_bill=v["bill_to"] == BillTo.INSURER,
        is_void=v["record_status"] == RecordStatus.VOID,
        insurer_identifier=v["insurer_contact__insurer__healthcode_identifier"] or "",
        insurer_name=v["insurer_contact__insurer__name"] or v["insurer_contact__name"] or "",
        setting=SETTING_CODES.get(v["service_setting"], ""),
        admission_date=v["admission_date"],
        membership_number=v["insurance__registration_number"] or "",
        auth_code=v["authorisation_code"],
        patient_first_name=v["patient__first_name"],
        patient_last_name=v["patient__last_name"],
        patient_date_of_birth=v["patient__date_of_birth"],
        patient_postcode=v["patient__postcode"] or "",
        patient_sex=v["patient__sex"],
        provider_number=provider_number,
        provider_is_location=provider_is_location,
        payee_number=payee_number,
        payee_is_location=payee_is_location,
        facility_chosen=v["facility_id"] is not None,
        location_number=v["facility__healthcode_600_number"] or "",
        diagnoses=tuple(c for c in [v["primary_diagnosis"], *(v["other_diagnoses"] or [])] if c),
        lines=lines,
        relationship_id=v["insurance_id"],
        patient_id=v["patient_id"],
        practitioner_id=v["practitioner_id"],
        invoice_date=v["invoice_date"],
    )


def facts_for_invoice(invoice: Invoice) -> BillFacts:
    return facts_for_queryset(Invoice.objects.filter(pk=invoice.pk, practice_id=invoice.practice_id))[0]


class DatabaseKnowledge(rules.Knowledge):
    """Knowledge for one practice, cached for the life of the object (one page, one batch)."""

    def __init__(self, practice):
        self.practice = practice
        self._insurers: dict[str, InsurerFacts] = {}
        self._insurer_rows: dict[str, object] = {}
        self._codes: dict[tuple[str, str], tuple | None] = {}
        self._accepted: dict[tuple[str, str], dict | None] = {}
        self._members: dict[int, dict[str, MemberAnswer]] = {}

    # insurers ---------------------------------------------------------------------------------
    def insurer(self, identifier: str) -> InsurerFacts:
        if identifier not in self._insurers:
            row = InsurerRules.objects.filter(healthcode_identifier=identifier).first()
            self._insurers[identifier] = (
                InsurerFacts(
                    member_check=row.member_check,
                    requires_diagnosis=row.requires_diagnosis,
                    requires_agreed_fees=row.requires_agreed_fees,
                    time_limit_months=row.time_limit_months,
                )
                if row
                else PUBLISHED_INSURER_RULES.get(identifier, InsurerFacts())
            )
        return self._insurers[identifier]

    def _insurer_row(self, identifier: str):
        if identifier not in self._insurer_rows:
            self._insurer_rows[identifier] = (
                insurers_for_practice(practice=self.practice, include_inactive=True)
                .filter(healthcode_identifier=identifier)
                .first()
            )
        return self._insurer_rows[identifier]

    # codes ------------------------------------------------------------------------------------
    def preload_codes(self, system: str, codes) -> None:
        keys = {code_key(c) for c in codes if c} - {k for (s, k) in self._codes if s == system}
        if not keys:
            return
        rows = (
            visible_codes(practice=self.practice, system=SYSTEMS[system])
            .filter(code_key__in=keys)
            .order_by("code_key", F("practice_id").asc(nulls_last=True))
            .values_list("code_key", "active_from", "active_to")
        )
        for key in keys:
            self._codes[(system, key)] = None
        for key, active_from, active_to in rows:
            if self._codes.get((system, key)) is None:
                self._codes[(system, key)] = (active_from, active_to)

    def _code(self, system: str, code: str):
        key = code_key(code)
        if (system, key) not in self._codes:
            self.preload_codes(system, [code])
        return self._codes[(system, key)]

    def code_known(self, system: str, code: str) -> bool:
        return self._code(system, code) is not None

    def code_active(self, system: str, code: str, on: dt.date) -> bool:
        found = self._code(system, code)
        if found is None:
            return False
        active_from, active_to = found
        return (active_from is None or active_from <= on) and (active_to is None or on <= active_to)

    def _accepted_list(self, insurer: str, system: str):
        if (insurer, system) not in self._accepted:
            row = self._insurer_row(insurer)
            entries: dict[str, list] | None = None
            if row is not None:
                found = defaultdict(list)
                for key, active_from, active_to, max_fee in AcceptedCode.objects.filter(
                    practice=self.practice, insurer=row, system=system
                ).values_list("code_key", "active_from", "active_to", "max_fee"):
                    found[key].append((active_from, active_to, max_fee))
                entries = dict(found)
            self._accepted[(insurer, system)] = entries
        return self._accepted[(insurer, system)]

    @staticmethod
    def _active_entry(entries, key: str, on: dt.date):
        for active_from, active_to, max_fee in (entries or {}).get(key, ()):
            if (active_from is None or active_from <= on) and (active_to is None or on <= active_to):
                return (max_fee,)
        return None

    def code_accepted(self, insurer: str, code: str, on: dt.date) -> bool:
        entries = self._accepted_list(insurer, "ccsd")
        if not entries:  # no list imported: we only know a code is refused when a list leaves it out
            return True
        return self._active_entry(entries, code_key(code), on) is not None

    def maximum_fee(self, insurer: str, system: str, code: str, on: dt.date) -> Decimal | None:
        found = self._active_entry(self._accepted_list(insurer, system), code_key(code), on)
        return found[0] if found else None

    def invoice_number_taken(self, insurer: str, number: str, invoice_id: int | None) -> bool:
        # Numbers come from the practice's sequence under a unique constraint: never taken twice.
        return False

    # membership -------------------------------------------------------------------------------
    def preload_members(self, relationship_ids) -> None:
        wanted = {r for r in relationship_ids if r and r not in self._members}
        if not wanted:
            return
        for rid in wanted:
            self._members[rid] = {}
        for check in MembershipCheck.objects.filter(relationship_id__in=wanted).order_by("checked_at", "id"):
            # later answers overwrite earlier ones for the same details
            self._members[check.relationship_id][check.fingerprint] = MemberAnswer(
                outcome=check.outcome, differing_fields=tuple(check.differing_fields), message=check.message
            )

    def member_answer(self, facts: BillFacts) -> MemberAnswer | None:
        if facts.relationship_id is None:
            return None
        self.preload_members([facts.relationship_id])
        return self._members[facts.relationship_id].get(facts.membership_fingerprint)


def check_facts(facts: BillFacts, knowledge: rules.Knowledge, today: dt.date | None = None) -> CheckResult:
    return CheckResult(facts.invoice_id, rules.check_bill(facts, knowledge, today or timezone.localdate()))


def check_invoice(*, invoice: Invoice, knowledge: DatabaseKnowledge | None = None) -> CheckResult:
    return check_facts(facts_for_invoice(invoice), knowledge or DatabaseKnowledge(invoice.practice))


def check_invoices(
    *, practice, queryset, knowledge: DatabaseKnowledge | None = None, today: dt.date | None = None
) -> dict[int, CheckResult]:
    """Check many invoices with a handful of queries: facts in two, codes and answers in bulk."""
    knowledge = knowledge or DatabaseKnowledge(practice)
    return check_many(facts_for_queryset(queryset.filter(practice=practice)), knowledge, today)


def check_many(
    facts: list[BillFacts], knowledge: DatabaseKnowledge, today: dt.date | None = None
) -> dict[int, CheckResult]:
    for system, attr in (("isc", "service_code"), ("ccsd", "procedure_code")):
        knowledge.preload_codes(system, {getattr(line, attr) for f in facts for line in f.lines})
    knowledge.preload_members([f.relationship_id for f in facts])
    today = today or timezone.localdate()
    return {f.invoice_id: check_facts(f, knowledge, today) for f in facts}
