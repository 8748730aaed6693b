"""Claims scrubbing: apply the rule table in ``rules.py`` to a bill."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal

from sandbox import rules, seed
from sandbox.claim_mapping import BillLine, BillSubmission


def error(rule_id: str, line: int | None = None, **values: object) -> dict[str, object]:
    rule = rules.RULES[rule_id]
    return {
        "rule": rule.rule_id,
        "level": rule.level,
        "line": line,
        "field": rule.field,
        "error": rule.error.format(**values),
        "suggestion": rule.suggestion.format(**values),
    }


def months_before(day: dt.date, months: int) -> dt.date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    # Clamp the day: 31 August minus 6 months is the last day of February.
    for candidate_day in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate_day))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _normalised(text: str | None) -> str:
    return "".join((text or "").split()).upper()


def validate(
    connection: sqlite3.Connection, bill: BillSubmission, site_id: str, today: dt.date
) -> list[dict[str, object]]:
    insurer = connection.execute("SELECT * FROM insurers WHERE identifier = ?", (bill.insurer_identifier,)).fetchone()
    insurer_name = insurer["name"]
    errors: list[dict[str, object]] = []
    errors += _check_invoice_number(connection, bill, site_id, insurer_name)
    if bill.setting not in ("I", "D", "O"):
        errors.append(error("setting-invalid", setting=bill.setting or ""))
    errors += _check_membership(connection, bill, insurer)
    if bill.auth_code:
        formats = rules.authorisation_formats(bill.insurer_identifier, bill.membership_number)
        if formats and not rules.matches_any(bill.auth_code, formats):
            errors.append(
                error(
                    "authorisation-format",
                    auth_code=bill.auth_code,
                    insurer_name=insurer_name,
                    formats=rules.describe(formats),
                )
            )
    errors += _check_dates(bill, insurer, today)
    errors += _check_provider_and_places(connection, bill, insurer_name)
    if bill.diagnosis is None:
        if insurer["requires_diagnosis"]:
            errors.append(error("diagnosis-required", insurer_name=insurer_name))
    elif not rules.ICD10_CODE.match(bill.diagnosis):
        errors.append(error("diagnosis-format", diagnosis=bill.diagnosis))
    for line in bill.lines:
        errors += _check_line(connection, bill, line, insurer, today)
    return errors


def _check_invoice_number(connection, bill: BillSubmission, site_id: str, insurer_name: str):
    errors = []
    if bill.insurer_identifier == rules.AXA_INSURER and (len(bill.invoice_number) > 10 or "." in bill.invoice_number):
        errors.append(error("invoice-number-axa-format"))
    # Failed and cancelled bills do not hold on to their invoice number; the bill being
    # replaced never counts against its correction.
    duplicate = connection.execute(
        "SELECT bill_id FROM bills WHERE site_id = ? AND insurer_identifier = ? AND invoice_number = ? "
        "AND passed_validation = 1 AND status != 'Cancelled' AND bill_id != ?",
        (site_id, bill.insurer_identifier, bill.invoice_number, bill.replaces_bill_id or ""),
    ).fetchone()
    if duplicate is not None:
        errors.append(error("invoice-number-duplicate", invoice_number=bill.invoice_number))
    return errors


def _check_membership(connection, bill: BillSubmission, insurer: sqlite3.Row):
    insurer_name = insurer["name"]
    number = bill.membership_number
    if not number:
        return [error("registration-number-missing")]
    if bill.insurer_identifier == rules.VITALITY_INSURER and rules.VITALITY_MEMBER_NUMBER.match(number):
        return [error("registration-number-vitality-member-number", membership_number=number)]
    formats = rules.membership_formats(bill.insurer_identifier)
    if not rules.matches_any(number, formats):
        return [
            error(
                "registration-number-format",
                membership_number=number,
                insurer_name=insurer_name,
                formats=rules.describe(formats),
            )
        ]
    if insurer["member_check"] != "database":
        return []
    member = connection.execute(
        "SELECT * FROM members WHERE insurer_identifier = ? AND membership_number = ?",
        (bill.insurer_identifier, number),
    ).fetchone()
    if member is None:
        return [error("member-not-found", membership_number=number, insurer_name=insurer_name)]
    errors = []
    if (_normalised(bill.patient_first_name), _normalised(bill.patient_last_name)) != (
        _normalised(member["first_name"]),
        _normalised(member["last_name"]),
    ):
        errors.append(error("member-name-mismatch", insurer_name=insurer_name))
    if bill.patient_date_of_birth is None or bill.patient_date_of_birth.isoformat() != member["date_of_birth"]:
        errors.append(error("member-date-of-birth-mismatch", insurer_name=insurer_name))
    if _normalised(bill.patient_postcode) != _normalised(member["postcode"]):
        errors.append(error("member-postcode-mismatch", insurer_name=insurer_name))
    if bill.first_date_of_service is not None and not cover_active(member, bill.first_date_of_service):
        errors.append(error("member-cover-not-active", first_date_of_service=bill.first_date_of_service.isoformat()))
    return errors


def cover_active(member: sqlite3.Row, on: dt.date) -> bool:
    day = on.isoformat()
    return member["cover_start"] <= day and (member["cover_end"] is None or day <= member["cover_end"])


def _check_dates(bill: BillSubmission, insurer: sqlite3.Row, today: dt.date):
    first = bill.first_date_of_service
    if first is None:
        return [error("first-date-of-service-missing")]
    if first > today:
        return [error("first-date-of-service-future", first_date_of_service=first.isoformat())]
    months = insurer["time_limit_months"]
    if months and first < months_before(today, months):
        return [error("insurer-time-limit", insurer_name=insurer["name"], months=months)]
    return []


def _check_provider_and_places(connection, bill: BillSubmission, insurer_name: str):
    errors = []
    provider = bill.provider_number or ""
    known = connection.execute("SELECT 1 FROM practitioners WHERE identifier = ?", (provider,)).fetchone()
    if known is None:
        errors.append(error("provider-unknown", provider_number=provider))
    elif (
        connection.execute(
            "SELECT 1 FROM practitioner_recognitions WHERE practitioner_identifier = ? AND insurer_identifier = ?",
            (provider, bill.insurer_identifier),
        ).fetchone()
        is None
    ):
        errors.append(error("provider-not-recognised", provider_number=provider, insurer_name=insurer_name))
    if bill.payee_number:
        payee_known = connection.execute(
            "SELECT 1 FROM practitioners WHERE identifier = ? UNION SELECT 1 FROM locations WHERE number = ?",
            (bill.payee_number, bill.payee_number),
        ).fetchone()
        if payee_known is None:
            errors.append(error("payee-unknown", payee_number=bill.payee_number))
    if (
        bill.location_number is not None
        and connection.execute("SELECT 1 FROM locations WHERE number = ?", (bill.location_number,)).fetchone() is None
    ):
        errors.append(error("location-unknown", location_number=bill.location_number))
    return errors


def insurer_maximum(connection, insurer_identifier: str, line: BillLine) -> Decimal | None:
    for code_set, code in ((seed.PROCEDURE_CODE, line.procedure_code), (seed.SERVICE_TYPE, line.service_code)):
        if not code:
            continue
        row = connection.execute(
            "SELECT maximum_fee FROM insurer_codes WHERE insurer_identifier = ? AND code_set = ? AND code = ?",
            (insurer_identifier, code_set, code),
        ).fetchone()
        if row is not None and row["maximum_fee"] is not None:
            return Decimal(row["maximum_fee"])
    return None


def _check_line(connection, bill: BillSubmission, line: BillLine, insurer: sqlite3.Row, today: dt.date):
    errors = []
    sequence = line.sequence
    service_date = line.service_date or bill.first_date_of_service or today
    if line.service_date and line.service_date > today:
        errors.append(error("service-date-future", sequence, service_date=line.service_date.isoformat()))
    if not line.service_code and not line.procedure_code:
        errors.append(error("line-code-missing", sequence))
    if line.service_code and _code_row(connection, seed.SERVICE_TYPE, line.service_code) is None:
        errors.append(error("service-code-unknown", sequence, code=line.service_code))
    if line.procedure_code:
        code_row = _code_row(connection, seed.PROCEDURE_CODE, line.procedure_code)
        if code_row is None:
            errors.append(error("procedure-code-unknown", sequence, code=line.procedure_code))
        elif not _active_on(code_row, service_date):
            errors.append(
                error(
                    "procedure-code-inactive", sequence, code=line.procedure_code, service_date=service_date.isoformat()
                )
            )
        elif not _accepted_by(connection, insurer["identifier"], line.procedure_code):
            errors.append(
                error("procedure-code-not-accepted", sequence, code=line.procedure_code, insurer_name=insurer["name"])
            )
    if line.quantity < 1 or line.quantity != line.quantity.to_integral_value():
        errors.append(error("quantity-invalid", sequence))
    else:
        expected = (line.quantity * line.unit_price).quantize(Decimal("0.01"))
        if expected != line.net_amount.quantize(Decimal("0.01")):
            errors.append(
                error("net-total-mismatch", sequence, net_amount=f"{line.net_amount:.2f}", expected=f"{expected:.2f}")
            )
    if insurer["requires_agreed_fees"]:
        maximum = insurer_maximum(connection, insurer["identifier"], line)
        if maximum is not None and line.unit_price > maximum:
            errors.append(
                error(
                    "fee-above-maximum",
                    sequence,
                    unit_price=f"{line.unit_price:.2f}",
                    insurer_name=insurer["name"],
                    maximum=f"{maximum:.2f}",
                )
            )
    return errors


def _code_row(connection, code_set: str, code: str):
    return connection.execute("SELECT * FROM codes WHERE code_set = ? AND code = ?", (code_set, code)).fetchone()


def _active_on(code_row: sqlite3.Row, day: dt.date) -> bool:
    text = day.isoformat()
    return (code_row["active_from"] is None or code_row["active_from"] <= text) and (
        code_row["active_to"] is None or text <= code_row["active_to"]
    )


def _accepted_by(connection, insurer_identifier: str, procedure_code: str) -> bool:
    has_list = connection.execute(
        "SELECT 1 FROM insurer_codes WHERE insurer_identifier = ? AND code_set = ? LIMIT 1",
        (insurer_identifier, seed.PROCEDURE_CODE),
    ).fetchone()
    if has_list is None:
        return True
    return (
        connection.execute(
            "SELECT 1 FROM insurer_codes WHERE insurer_identifier = ? AND code_set = ? AND code = ?",
            (insurer_identifier, seed.PROCEDURE_CODE, procedure_code),
        ).fetchone()
        is not None
    )
