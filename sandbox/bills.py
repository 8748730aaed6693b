"""Bills: submission (idempotent), status, cancellation, correction, and the lifecycle.

The lifecycle runs on the sandbox clock and is brought up to date lazily (``progress``)
before anything reads bills or remittances, so a frozen clock gives identical results
every run. Statuses are Healthcode's published words; timings (sandbox seconds) are our choice:
submitted (Unprocessed) -> +30 s In-process -> +60 s Validated, AwaitingCorrection (it failed a
rule) or NotRequired (a bill for nothing: there is nothing to pay) -> +60 s AwaitingCollection
-> +1 h Collected -> +1 day in a remittance batch. Cancelled at the practice's request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from decimal import Decimal
from typing import Any

from sandbox import clock, db, remittances, validation
from sandbox.claim_mapping import BillSubmission, ClaimNotAccepted, bill_from_claim

UNPROCESSED = "Unprocessed"
IN_PROCESS = "In-process"
VALIDATED = "Validated"
AWAITING_CORRECTION = "AwaitingCorrection"
FAILED = AWAITING_CORRECTION  # the name the code had for it first
NOT_REQUIRED = "NotRequired"
AWAITING_COLLECTION = "AwaitingCollection"
COLLECTED = "Collected"
CANCELLED = "Cancelled"
# Never stored: a status search for a bill id Healthcode does not know, and the word for no status.
NOT_FOUND = "NotFound"
UNSPECIFIED = "Unspecified"
# Every bill status Healthcode publishes, in its order.
PUBLISHED_STATUSES = (
    UNPROCESSED,
    IN_PROCESS,
    NOT_REQUIRED,
    AWAITING_CORRECTION,
    VALIDATED,
    CANCELLED,
    AWAITING_COLLECTION,
    COLLECTED,
    NOT_FOUND,
    UNSPECIFIED,
)
# The words stored before the sandbox used Healthcode's own (db.initialise renames them).
OLDER_WORDS = {"Failed": AWAITING_CORRECTION, "Awaiting collection": AWAITING_COLLECTION}

PICKUP_DELAY = dt.timedelta(seconds=30)  # Unprocessed until Healthcode starts its checks
VALIDATION_DELAY = dt.timedelta(seconds=60)
QUEUE_DELAY = dt.timedelta(seconds=60)
COLLECTION_DELAY = dt.timedelta(hours=1)


class BillConflict(Exception):
    """A request that contradicts the state of a bill (answered 409)."""


class BillNotFound(Exception):
    pass


def idempotency_key_for(header_value: str | None, bill: BillSubmission, claim: dict[str, Any]) -> str:
    if header_value:
        return f"header:{header_value}"
    if bill.invoice_version:
        return f"invoice-version:{bill.invoice_version}"
    # Without a key, an identical Claim body is the same submission.
    canonical = json.dumps(claim, sort_keys=True, default=str).encode()
    return f"body:{hashlib.sha256(canonical).hexdigest()}"


def submit(
    connection: sqlite3.Connection, *, site_id: str, claim: dict[str, Any], idempotency_header: str | None
) -> tuple[sqlite3.Row, bool]:
    """Create a bill from a Claim; return (bill row, created). Same key -> same bill."""
    bill = bill_from_claim(claim)
    key = idempotency_key_for(idempotency_header, bill, claim)
    with db.transaction(connection):
        existing = connection.execute(
            "SELECT * FROM bills WHERE site_id = ? AND idempotency_key = ?", (site_id, key)
        ).fetchone()
        if existing is not None:
            if existing["invoice_number"] != bill.invoice_number:
                raise BillConflict(
                    f"Idempotency key was first used for invoice {existing['invoice_number']}, "
                    f"not {bill.invoice_number}"
                )
            return existing, False
        if (
            connection.execute("SELECT 1 FROM insurers WHERE identifier = ?", (bill.insurer_identifier,)).fetchone()
            is None
        ):
            raise ClaimNotAccepted([("Claim.insurer", f"Insurer '{bill.insurer_identifier}' is not known")])
        now = clock.now(connection)
        progress(connection, now)
        if bill.replaces_bill_id:
            _check_replaceable(connection, site_id, bill.replaces_bill_id)
        errors = validation.validate(connection, bill, site_id, now.date())
        bill_id = f"HCB{db.next_number(connection, 'bill'):08d}"
        connection.execute(
            "INSERT INTO bills (bill_id, site_id, idempotency_key, invoice_number, insurer_identifier, "
            "provider_number, patient_name, membership_number, first_date_of_service, amount_invoiced, "
            "status, passed_validation, errors_json, claim_json, replaces_bill_id, submitted_at, next_step_due_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                bill_id,
                site_id,
                key,
                bill.invoice_number,
                bill.insurer_identifier,
                bill.provider_number or "",
                bill.patient_name,
                bill.membership_number or "",
                bill.first_date_of_service.isoformat() if bill.first_date_of_service else None,
                str(bill.amount_invoiced),
                UNPROCESSED,
                0 if errors else 1,
                json.dumps(errors),
                json.dumps(claim, default=str),
                bill.replaces_bill_id,
                clock.format_instant(now),
                clock.format_instant(now + PICKUP_DELAY),
            ),
        )
        for line in bill.lines:
            connection.execute(
                "INSERT INTO bill_lines (bill_id, sequence, service_code, procedure_code, service_date, "
                "quantity, unit_price, net_amount) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    bill_id,
                    line.sequence,
                    line.service_code,
                    line.procedure_code,
                    line.service_date.isoformat() if line.service_date else None,
                    str(line.quantity),
                    str(line.unit_price),
                    str(line.net_amount),
                ),
            )
        if bill.replaces_bill_id:
            connection.execute(
                "UPDATE bills SET replaced_by_bill_id = ? WHERE bill_id = ?", (bill_id, bill.replaces_bill_id)
            )
        created = connection.execute("SELECT * FROM bills WHERE bill_id = ?", (bill_id,)).fetchone()
    return created, True


def _check_replaceable(connection: sqlite3.Connection, site_id: str, bill_id: str) -> None:
    old = connection.execute("SELECT * FROM bills WHERE site_id = ? AND bill_id = ?", (site_id, bill_id)).fetchone()
    if old is None:
        raise ClaimNotAccepted([("Claim.related", f"Bill {bill_id} named in Claim.related is not known")])
    if old["status"] != AWAITING_CORRECTION:
        raise BillConflict(f"Bill {bill_id} is {old['status']}: only a bill awaiting correction can be replaced")
    if old["replaced_by_bill_id"]:
        raise BillConflict(f"Bill {bill_id} has already been replaced by {old['replaced_by_bill_id']}")


def progress(connection: sqlite3.Connection, now: dt.datetime) -> None:
    """Move every bill whose next step is due; call inside a write transaction."""
    # INDEXED BY: without statistics SQLite walks the primary key for the ORDER BY, reading every
    # bill on every submission (quadratic over a run); the due bills are few.
    due = connection.execute(
        "SELECT * FROM bills INDEXED BY bills_by_next_step WHERE next_step_due_at <= ? AND status IN (?, ?, ?, ?) "
        "ORDER BY bill_id",
        (clock.format_instant(now), UNPROCESSED, IN_PROCESS, VALIDATED, AWAITING_COLLECTION),
    ).fetchall()
    for bill in due:
        status = bill["status"]
        # Each step happens at the instant it fell due, however late the clock reaches it.
        step_at = clock.parse_instant(bill["next_step_due_at"])
        changes: dict[str, Any] = {}
        if status == UNPROCESSED and step_at <= now:
            status = IN_PROCESS
            step_at = step_at + VALIDATION_DELAY - PICKUP_DELAY
        if status == IN_PROCESS and step_at <= now:
            changes["validated_at"] = clock.format_instant(step_at)
            if not bill["passed_validation"]:
                status = AWAITING_CORRECTION
            elif amount(bill["amount_invoiced"]) == 0:
                status = NOT_REQUIRED
            else:
                status = VALIDATED
            step_at = step_at + QUEUE_DELAY
        if status == VALIDATED and step_at <= now:
            changes["awaiting_collection_at"] = clock.format_instant(step_at)
            status = AWAITING_COLLECTION
            step_at = step_at + COLLECTION_DELAY
        if status == AWAITING_COLLECTION and step_at <= now:
            changes["collected_at"] = clock.format_instant(step_at)
            status = COLLECTED
            step_at = step_at + remittances.REMITTANCE_DELAY
        changes["status"] = status
        changes["next_step_due_at"] = (
            None if status in (AWAITING_CORRECTION, NOT_REQUIRED) else clock.format_instant(step_at)
        )
        assignments = ", ".join(f"{column} = ?" for column in changes)
        connection.execute(f"UPDATE bills SET {assignments} WHERE bill_id = ?", (*changes.values(), bill["bill_id"]))
    remittances.create_due_batches(connection, now)


def work_is_due(connection: sqlite3.Connection, now: dt.datetime) -> bool:
    return (
        connection.execute(
            "SELECT 1 FROM bills WHERE next_step_due_at <= ? LIMIT 1", (clock.format_instant(now),)
        ).fetchone()
        is not None
    )


def up_to_date(connection: sqlite3.Connection) -> dt.datetime:
    """Bring the lifecycle up to the clock; takes the write lock only when work is due."""
    now = clock.now(connection)
    if work_is_due(connection, now):
        with db.transaction(connection):
            now = clock.now(connection)
            progress(connection, now)
    return now


def get(connection: sqlite3.Connection, site_id: str, bill_id: str) -> sqlite3.Row:
    row = connection.execute("SELECT * FROM bills WHERE site_id = ? AND bill_id = ?", (site_id, bill_id)).fetchone()
    if row is None:
        raise BillNotFound(bill_id)
    return row


def find_by_invoice(
    connection: sqlite3.Connection, site_id: str, invoice_number: str, insurer_identifier: str | None
) -> list[sqlite3.Row]:
    query = "SELECT * FROM bills WHERE site_id = ? AND invoice_number = ?"
    parameters: list[Any] = [site_id, invoice_number]
    if insurer_identifier:
        query += " AND insurer_identifier = ?"
        parameters.append(insurer_identifier)
    return connection.execute(query + " ORDER BY bill_id", parameters).fetchall()


def lines(connection: sqlite3.Connection, bill_id: str) -> list[sqlite3.Row]:
    return connection.execute("SELECT * FROM bill_lines WHERE bill_id = ? ORDER BY sequence", (bill_id,)).fetchall()


def cancel(connection: sqlite3.Connection, site_id: str, bill_id: str) -> sqlite3.Row:
    with db.transaction(connection):
        now = clock.now(connection)
        progress(connection, now)
        bill = get(connection, site_id, bill_id)
        if bill["status"] == COLLECTED:
            raise BillConflict(
                f"Bill {bill_id} was collected by the insurer at {bill['collected_at']}: too late to cancel"
            )
        if bill["status"] != CANCELLED:
            connection.execute(
                "UPDATE bills SET status = ?, cancelled_at = ?, next_step_due_at = NULL WHERE bill_id = ?",
                (CANCELLED, clock.format_instant(now), bill_id),
            )
        return get(connection, site_id, bill_id)


def visible_errors(bill: sqlite3.Row) -> list[dict[str, Any]]:
    """Errors are known at submission but only reported once the bill has been validated."""
    if bill["status"] in (UNPROCESSED, IN_PROCESS) or bill["validated_at"] is None:
        return []
    return json.loads(bill["errors_json"])


def amount(text: str | None) -> Decimal:
    return Decimal(text) if text is not None else Decimal("0.00")
