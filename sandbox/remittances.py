"""Adjudication after collection and remittance batches.

A collected bill is adjudicated line by line by its insurer's configured behaviour, one
day (sandbox time) after collection, and put into that day's remittance batch for its
site and insurer. Batches are listed as pending until acknowledged (twice when the
duplicate-delivery fault is on).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal

from sandbox import clock, db, faults, seed, validation
from sandbox.claim_mapping import BillLine

REMITTANCE_DELAY = dt.timedelta(days=1)
PENNY = Decimal("0.01")


class RemittanceNotFound(Exception):
    pass


def adjudicate_line(
    connection: sqlite3.Connection, insurer: sqlite3.Row, line: sqlite3.Row
) -> tuple[Decimal, str | None]:
    """Return (amount paid, shortfall reason or None) for one charge line."""
    net = Decimal(line["net_amount"]).quantize(PENNY)
    mode = insurer["adjudication_mode"]
    if mode == seed.REJECT:
        return Decimal("0.00"), insurer["adjudication_reason"] or "Not covered by the member's policy"
    if mode == seed.PAY_TO_MAXIMUM:
        maximum = validation.insurer_maximum(
            connection,
            insurer["identifier"],
            BillLine(
                line["sequence"],
                line["service_code"],
                line["procedure_code"],
                None,
                Decimal(line["quantity"]),
                Decimal(line["unit_price"]),
                net,
            ),
        )
        if maximum is not None:
            allowed = (maximum * Decimal(line["quantity"])).quantize(PENNY)
            if allowed < net:
                return allowed, insurer["adjudication_reason"] or "Benefit maximum reached"
    return net, None


def create_due_batches(connection: sqlite3.Connection, now: dt.datetime) -> None:
    """Adjudicate collected bills that are due and group them into batches (in a transaction)."""
    due = connection.execute(
        "SELECT * FROM bills INDEXED BY bills_by_next_step "  # not a walk of every bill (see bills.progress)
        "WHERE next_step_due_at <= ? AND status = 'Collected' AND remittance_id IS NULL "
        "ORDER BY bill_id",
        (clock.format_instant(now),),
    ).fetchall()
    if not due:
        return
    deliveries = 2 if faults.load(connection).duplicate_remittances else 1
    groups: dict[tuple[str, str], list[sqlite3.Row]] = {}
    for bill in due:
        groups.setdefault((bill["site_id"], bill["insurer_identifier"]), []).append(bill)
    for (site_id, insurer_identifier), group in groups.items():
        insurer = connection.execute("SELECT * FROM insurers WHERE identifier = ?", (insurer_identifier,)).fetchone()
        number = db.next_number(connection, "remittance")
        remittance_id = f"REM{number:08d}"
        total = Decimal("0.00")
        for bill in group:
            for line in connection.execute(
                "SELECT * FROM bill_lines WHERE bill_id = ? ORDER BY sequence", (bill["bill_id"],)
            ).fetchall():
                paid, reason = adjudicate_line(connection, insurer, line)
                total += paid
                connection.execute(
                    "UPDATE bill_lines SET paid_amount = ?, adjudication_reason = ? WHERE bill_id = ? AND sequence = ?",
                    (str(paid), reason, bill["bill_id"], line["sequence"]),
                )
            connection.execute(
                "UPDATE bills SET remittance_id = ?, next_step_due_at = NULL WHERE bill_id = ?",
                (remittance_id, bill["bill_id"]),
            )
        connection.execute(
            "INSERT INTO remittances (remittance_id, site_id, insurer_identifier, created_at, payment_date, "
            "payment_reference, payment_amount, deliveries_remaining) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                remittance_id,
                site_id,
                insurer_identifier,
                clock.format_instant(now),
                now.date().isoformat(),
                f"BACS-{insurer_identifier.upper()}-{number:06d}",
                str(total),
                deliveries,
            ),
        )


def pending(connection: sqlite3.Connection, site_id: str) -> list[sqlite3.Row]:
    return connection.execute(
        "SELECT * FROM remittances WHERE site_id = ? AND deliveries_remaining > 0 ORDER BY remittance_id",
        (site_id,),
    ).fetchall()


def get(connection: sqlite3.Connection, site_id: str, remittance_id: str) -> sqlite3.Row:
    row = connection.execute(
        "SELECT * FROM remittances WHERE site_id = ? AND remittance_id = ?", (site_id, remittance_id)
    ).fetchone()
    if row is None:
        raise RemittanceNotFound(remittance_id)
    return row


def bills_in(connection: sqlite3.Connection, remittance_id: str) -> list[sqlite3.Row]:
    return connection.execute(
        "SELECT * FROM bills WHERE remittance_id = ? ORDER BY bill_id", (remittance_id,)
    ).fetchall()


def acknowledge(connection: sqlite3.Connection, site_id: str, remittance_id: str) -> sqlite3.Row:
    """Acknowledging takes one delivery off; acknowledging an acknowledged batch is harmless."""
    with db.transaction(connection):
        batch = get(connection, site_id, remittance_id)
        if batch["deliveries_remaining"] > 0:
            remaining = batch["deliveries_remaining"] - 1
            connection.execute(
                "UPDATE remittances SET deliveries_remaining = ?, acknowledged_at = COALESCE(acknowledged_at, ?) "
                "WHERE remittance_id = ?",
                (remaining, clock.format_instant(clock.now(connection)), remittance_id),
            )
        return get(connection, site_id, remittance_id)


def remitted_bills(connection: sqlite3.Connection, site_id: str) -> list[tuple[sqlite3.Row, sqlite3.Row]]:
    """(bill, batch) pairs for every remitted bill of a site: what the summary search filters."""
    rows = connection.execute(
        "SELECT b.bill_id AS bill_key, r.remittance_id AS batch_key FROM bills b "
        "JOIN remittances r ON r.remittance_id = b.remittance_id WHERE b.site_id = ? ORDER BY b.bill_id",
        (site_id,),
    ).fetchall()
    pairs = []
    for row in rows:
        bill = connection.execute("SELECT * FROM bills WHERE bill_id = ?", (row["bill_key"],)).fetchone()
        batch = connection.execute("SELECT * FROM remittances WHERE remittance_id = ?", (row["batch_key"],)).fetchone()
        pairs.append((bill, batch))
    return pairs


def paid_total(connection: sqlite3.Connection, bill_id: str) -> Decimal:
    total = Decimal("0.00")
    for line in connection.execute("SELECT paid_amount FROM bill_lines WHERE bill_id = ?", (bill_id,)):
        total += Decimal(line["paid_amount"] or "0")
    return total
