"""Find Member: ask the clearing house whether a patient's membership matches, and keep the answer
(MembershipCheck) so the pre-submission check can use it without asking again."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from openpractice.healthcode import answers
from openpractice.healthcode.client import HealthcodeError
from openpractice.healthcode.connection import client_for_practice
from openpractice.healthcode.errors import SubmissionError
from openpractice.healthcode.models import MembershipCheck, MembershipOutcome
from openpractice.healthcode.rules import membership_fingerprint

FIELD_LABELS = {
    "firstName": "first name",
    "lastName": "last name",
    "dateOfBirth": "date of birth",
    "postCode": "postcode",
    "sex": "sex",
    "membershipNumber": "registration number",
    "policyActiveOn": "cover dates",
}


def fingerprint_for(relationship, active_on: dt.date) -> str:
    patient = relationship.patient
    insurer = relationship.related_contact.insurer
    return membership_fingerprint(
        insurer=insurer.healthcode_identifier if insurer else "",
        number=relationship.registration_number,
        first=patient.first_name,
        last=patient.last_name,
        born=patient.date_of_birth,
        postcode=patient.postcode,
        active_on=active_on,
    )


def find_member(*, relationship, active_on: dt.date) -> MembershipCheck:
    patient = relationship.patient
    insurer = relationship.related_contact.insurer if relationship.related_contact else None
    if insurer is None or not insurer.healthcode_identifier:
        raise SubmissionError(
            "The insurer has no Healthcode identifier yet: set it in the insurer directory (Settings › Coding › "
            "Insurers), or sync the directory from Healthcode.",
            field="insurer",
        )
    fields = {
        "insurerIdentifier": insurer.healthcode_identifier,
        "membershipNumber": relationship.registration_number,
        "firstName": patient.first_name,
        "lastName": patient.last_name,
        "sex": patient.sex if patient.sex in ("male", "female") else "",
        "dateOfBirth": patient.date_of_birth.isoformat() if patient.date_of_birth else "",
        "postCode": patient.postcode,
        "policyActiveOn": active_on.isoformat(),
    }
    with client_for_practice(relationship.practice) as client:
        try:
            answer = client.find_member(**fields)
        except HealthcodeError as exc:
            raise SubmissionError(f"Could not ask {insurer.name}: {exc.message}", code=exc.code) from None
    try:
        body = answers.parse_json(answer.text)
    except answers.AnswerError as exc:
        raise SubmissionError(f"The membership answer could not be read: {exc.message}", code="bad_answer") from None
    if answer.status_code == 400:
        issues = answers.outcome_issues(body)
        missing = ", ".join(FIELD_LABELS.get(i["field"], i["field"]) for i in issues if i["field"]) or "details"
        raise SubmissionError(
            f"{insurer.name} needs the patient's {missing} to check the membership: add them to the patient's record.",
            field="patient",
            code="incomplete",
        )
    if answer.status_code != 200:
        raise SubmissionError(
            f"The clearing house answered HTTP {answer.status_code} to Find Member.", code="find_member_error"
        )
    return _record(relationship, active_on, insurer, body)


def _interpret(body: dict) -> tuple[str, list[str], str, dict]:
    coverages = answers.bundle_resources(body, "Coverage")
    issues: list[dict] = []
    for resource in answers.bundle_resources(body, "OperationOutcome"):
        issues += resource.get("issue") or []
    differing = [expr for issue in issues for expr in (issue.get("expression") or [])]
    words = "; ".join(issue.get("diagnostics", "") for issue in issues if issue.get("diagnostics"))
    codes = {issue.get("code") for issue in issues}
    if not coverages:
        if "invalid" in codes:
            return MembershipOutcome.INVALID, differing, words, {}
        return MembershipOutcome.NOT_FOUND, differing, words, {}
    coverage = coverages[0]
    match = next(
        (
            e.get("valueCode") or e.get("valueString")
            for e in coverage.get("extension") or []
            if str(e.get("url", "")).endswith("/member-match")
        ),
        "match",
    )
    person_fields = [f for f in differing if f != "policyActiveOn"]
    if match == "mismatch" or person_fields:
        outcome = MembershipOutcome.MISMATCH
    elif coverage.get("status") == "cancelled" or "policyActiveOn" in differing:
        outcome = MembershipOutcome.LAPSED
    else:
        outcome = MembershipOutcome.MATCH
    return outcome, differing, words, coverage.get("period") or {}


@transaction.atomic
def _record(relationship, active_on, insurer, body) -> MembershipCheck:
    try:
        outcome, differing, words, period = _interpret(body)
    except answers.AnswerError as exc:
        raise SubmissionError(f"The membership answer could not be read: {exc.message}", code="bad_answer") from None

    def date_or_none(text):
        try:
            return dt.date.fromisoformat(text) if text else None
        except ValueError:
            return None

    return MembershipCheck.objects.create(
        practice_id=relationship.practice_id,
        relationship=relationship,
        fingerprint=fingerprint_for(relationship, active_on),
        active_on=active_on,
        outcome=outcome,
        differing_fields=differing,
        message=words[:2000],
        cover_start=date_or_none(period.get("start")),
        cover_end=date_or_none(period.get("end")),
        checked_by=insurer.member_check,
    )


def describe(check: MembershipCheck) -> str:
    """One sentence for the page: what the insurer said."""
    if check.outcome == MembershipOutcome.MATCH:
        return f"Membership confirmed: the details match and cover was active on {check.active_on:%d/%m/%Y}."
    if check.outcome == MembershipOutcome.NOT_FOUND:
        return "No match: the insurer has no member with this registration number."
    if check.outcome == MembershipOutcome.INVALID:
        return f"The registration number is not valid for this insurer. {check.message}".strip()
    if check.outcome == MembershipOutcome.LAPSED:
        ended = f" (cover ended {check.cover_end:%d/%m/%Y})" if check.cover_end else ""
        return f"Cover lapsed: not active on {check.active_on:%d/%m/%Y}{ended}."
    fields = ", ".join(FIELD_LABELS.get(f, f) for f in check.differing_fields if f != "policyActiveOn")
    return f"Found, but these details differ from the insurer's record: {fields}."
