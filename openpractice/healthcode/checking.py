"""Reads that feed the pre-submission check (rules.py): invoices -> BillFacts, and the
database-backed Knowledge, loaded in bulk and cached for one batch of bills."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone

from openpractice.billing.models import BillTo, Invoice, InvoiceLine, ProviderKind, RecordStatus
from openpractice.healthcode import rules
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
        "patient", "insurance", "insurer_contact__insurer", "practitioner__practitioner_profile",
        "payee_location", "provider_location", "facility",
    ).prefetch_related(Prefetch("lines", queryset=InvoiceLine.objects.order_by("sequence")))


def _profile_identifier(membership) -> str:
    if membership is None:
        return ""
    try:
        return membership.practitioner_profile.healthcode_identifier
    except Exception:  # no profile yet: RelatedObjectDoesNotExist
        return ""


def facts_for_invoice(invoice: Invoice) -> BillFacts:
    insurer = invoice.insurer_contact.insurer if invoice.insurer_contact_id and invoice.insurer_contact else None
    provider_number = _profile_identifier(invoice.practitioner)
    provider_is_location = invoice.provider_kind == ProviderKind.LOCATION
    if provider_is_location and invoice.provider_location:
        provider_number = invoice.provider_location.healthcode_600_number
    payee_is_location = invoice.payee_kind == ProviderKind.LOCATION
    payee_number = (invoice.payee_location.healthcode_600_number if payee_is_location and invoice.payee_location
                    else "" if payee_is_location else provider_number)
    patient = invoice.patient
    return BillFacts(
        invoice_id=invoice.pk, invoice_number=invoice.number,
        is_insurer_bill=invoice.bill_to == BillTo.INSURER, is_void=invoice.record_status == RecordStatus.VOID,
        insurer_identifier=(insurer.healthcode_identifier if insurer else ""),
        insurer_name=(insurer.name if insurer else (invoice.insurer_contact.name if invoice.insurer_contact else "")),
        setting=invoice.setting_code, admission_date=invoice.admission_date,
        membership_number=invoice.insurance.registration_number if invoice.insurance else "",
        auth_code=invoice.authorisation_code,
        patient_first_name=patient.first_name, patient_last_name=patient.last_name,
        patient_date_of_birth=patient.date_of_birth, patient_postcode=patient.postcode, patient_sex=patient.sex,
        provider_number=provider_number, provider_is_location=provider_is_location,
        payee_number=payee_number, payee_is_location=payee_is_location,
        facility_chosen=invoice.facility_id is not None,
        location_number=invoice.facility.healthcode_600_number if invoice.facility else "",
        diagnoses=tuple(invoice.diagnoses),
        lines=tuple(LineFacts(sequence=line.sequence, service_date=line.service_date, quantity=line.quantity,
                              unit_price=line.unit_price, net_amount=line.net_amount,
                              service_code=line.industry_standard_code, procedure_code=line.procedure_code,
                              product_id=line.product_id) for line in invoice.lines.all()),
        relationship_id=invoice.insurance_id, patient_id=invoice.patient_id, practitioner_id=invoice.practitioner_id,
        invoice_date=invoice.invoice_date,
    )


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
            from openpractice.healthcode.models import InsurerRules

            row = InsurerRules.objects.filter(healthcode_identifier=identifier).first()
            self._insurers[identifier] = InsurerFacts(
                member_check=row.member_check, requires_diagnosis=row.requires_diagnosis,
                requires_agreed_fees=row.requires_agreed_fees, time_limit_months=row.time_limit_months,
            ) if row else InsurerFacts()
        return self._insurers[identifier]

    def _insurer_row(self, identifier: str):
        if identifier not in self._insurer_rows:
            from openpractice.coding.selectors import insurers_for_practice

            self._insurer_rows[identifier] = (insurers_for_practice(practice=self.practice, include_inactive=True)
                                              .filter(healthcode_identifier=identifier).first())
        return self._insurer_rows[identifier]

    # codes ------------------------------------------------------------------------------------
    def preload_codes(self, system: str, codes) -> None:
        from django.db.models import F

        from openpractice.coding.normalise import code_key
        from openpractice.coding.selectors import visible_codes

        keys = {code_key(c) for c in codes if c} - {k for (s, k) in self._codes if s == system}
        if not keys:
            return
        rows = (visible_codes(practice=self.practice, system=SYSTEMS[system]).filter(code_key__in=keys)
                .order_by("code_key", F("practice_id").asc(nulls_last=True))
                .values_list("code_key", "active_from", "active_to"))
        for key in keys:
            self._codes[(system, key)] = None
        for key, active_from, active_to in rows:
            if self._codes.get((system, key)) is None:
                self._codes[(system, key)] = (active_from, active_to)

    def _code(self, system: str, code: str):
        from openpractice.coding.normalise import code_key

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
            from openpractice.coding.models import AcceptedCode

            row = self._insurer_row(insurer)
            entries: dict[str, list] | None = None
            if row is not None:
                found = defaultdict(list)
                for key, active_from, active_to, max_fee in AcceptedCode.objects.filter(
                        practice=self.practice, insurer=row, system=system).values_list(
                        "code_key", "active_from", "active_to", "max_fee"):
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
        from openpractice.coding.normalise import code_key

        entries = self._accepted_list(insurer, "ccsd")
        if not entries:  # no list imported: we only know a code is refused when a list leaves it out
            return True
        return self._active_entry(entries, code_key(code), on) is not None

    def maximum_fee(self, insurer: str, system: str, code: str, on: dt.date) -> Decimal | None:
        from openpractice.coding.normalise import code_key

        found = self._active_entry(self._accepted_list(insurer, system), code_key(code), on)
        return found[0] if found else None

    def invoice_number_taken(self, insurer: str, number: str, invoice_id: int | None) -> bool:
        # Numbers come from the practice's sequence under a unique constraint: never taken twice.
        return False

    # membership -------------------------------------------------------------------------------
    def preload_members(self, relationship_ids) -> None:
        from openpractice.healthcode.models import MembershipCheck

        wanted = {r for r in relationship_ids if r and r not in self._members}
        if not wanted:
            return
        for rid in wanted:
            self._members[rid] = {}
        for check in MembershipCheck.objects.filter(relationship_id__in=wanted).order_by("checked_at", "id"):
            # later answers overwrite earlier ones for the same details
            self._members[check.relationship_id][check.fingerprint] = MemberAnswer(
                outcome=check.outcome, differing_fields=tuple(check.differing_fields), message=check.message)

    def member_answer(self, facts: BillFacts) -> MemberAnswer | None:
        if facts.relationship_id is None:
            return None
        self.preload_members([facts.relationship_id])
        return self._members[facts.relationship_id].get(facts.membership_fingerprint)


def check_facts(facts: BillFacts, knowledge: rules.Knowledge, today: dt.date | None = None) -> CheckResult:
    return CheckResult(facts.invoice_id, rules.check_bill(facts, knowledge, today or timezone.localdate()))


def check_invoice(*, invoice: Invoice, knowledge: DatabaseKnowledge | None = None) -> CheckResult:
    invoice = invoices_for_check(Invoice.objects.filter(pk=invoice.pk, practice_id=invoice.practice_id)).get()
    return check_facts(facts_for_invoice(invoice), knowledge or DatabaseKnowledge(invoice.practice))


def check_invoices(*, practice, queryset, knowledge: DatabaseKnowledge | None = None,
                   today: dt.date | None = None) -> dict[int, CheckResult]:
    """Check many invoices with a handful of queries: facts in two, codes and answers in bulk."""
    knowledge = knowledge or DatabaseKnowledge(practice)
    facts = [facts_for_invoice(i) for i in invoices_for_check(queryset.filter(practice=practice))]
    for system, attr in (("isc", "service_code"), ("ccsd", "procedure_code")):
        knowledge.preload_codes(system, {getattr(line, attr) for f in facts for line in f.lines})
    knowledge.preload_members([f.relationship_id for f in facts])
    today = today or timezone.localdate()
    return {f.invoice_id: check_facts(f, knowledge, today) for f in facts}
