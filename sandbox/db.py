"""SQLite storage: schema, connections and transactions.

One connection per request (sqlite3 connections are cheap and not shared between
threads); WAL so readers never block the single writer; ``BEGIN IMMEDIATE`` for
every write so concurrent submissions serialise instead of failing half-way.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sites (
    site_id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_clients (
    client_id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,
    site_id TEXT NOT NULL REFERENCES sites(site_id)
);
CREATE TABLE IF NOT EXISTS access_tokens (
    token_sha256 TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    site_id TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS insurers (
    identifier TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    member_check TEXT NOT NULL CHECK (member_check IN ('database', 'format')),
    identifier_is_public INTEGER NOT NULL,
    requires_diagnosis INTEGER NOT NULL,
    requires_agreed_fees INTEGER NOT NULL,
    time_limit_months INTEGER,
    adjudication_mode TEXT NOT NULL,
    adjudication_reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS practitioners (
    identifier TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    specialty TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS practitioner_recognitions (
    practitioner_identifier TEXT NOT NULL REFERENCES practitioners(identifier),
    insurer_identifier TEXT NOT NULL REFERENCES insurers(identifier),
    PRIMARY KEY (practitioner_identifier, insurer_identifier)
);
CREATE TABLE IF NOT EXISTS locations (
    number TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
    insurer_identifier TEXT NOT NULL REFERENCES insurers(identifier),
    membership_number TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    sex TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    postcode TEXT NOT NULL,
    cover_start TEXT NOT NULL,
    cover_end TEXT,
    PRIMARY KEY (insurer_identifier, membership_number)
);
CREATE TABLE IF NOT EXISTS codes (
    code_set TEXT NOT NULL,
    code TEXT NOT NULL,
    display TEXT NOT NULL,
    active_from TEXT,
    active_to TEXT,
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (code_set, code)
);
CREATE TABLE IF NOT EXISTS insurer_codes (
    insurer_identifier TEXT NOT NULL REFERENCES insurers(identifier),
    code_set TEXT NOT NULL,
    code TEXT NOT NULL,
    maximum_fee TEXT,
    PRIMARY KEY (insurer_identifier, code_set, code)
);
CREATE TABLE IF NOT EXISTS bills (
    bill_id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    invoice_number TEXT NOT NULL,
    insurer_identifier TEXT NOT NULL,
    provider_number TEXT NOT NULL,
    patient_name TEXT NOT NULL,
    membership_number TEXT NOT NULL,
    first_date_of_service TEXT,
    amount_invoiced TEXT NOT NULL,
    status TEXT NOT NULL,
    passed_validation INTEGER NOT NULL,
    errors_json TEXT NOT NULL,
    claim_json TEXT NOT NULL,
    replaces_bill_id TEXT,
    replaced_by_bill_id TEXT,
    submitted_at TEXT NOT NULL,
    validated_at TEXT,
    awaiting_collection_at TEXT,
    collected_at TEXT,
    cancelled_at TEXT,
    remittance_id TEXT,
    -- When the bill's next lifecycle step is due (NULL when none is): lets a read find
    -- the work that is due through an index instead of scanning every open bill.
    next_step_due_at TEXT,
    UNIQUE (site_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS bills_by_invoice ON bills (site_id, insurer_identifier, invoice_number);
CREATE INDEX IF NOT EXISTS bills_by_next_step ON bills (next_step_due_at);
CREATE TABLE IF NOT EXISTS bill_lines (
    bill_id TEXT NOT NULL REFERENCES bills(bill_id),
    sequence INTEGER NOT NULL,
    service_code TEXT,
    procedure_code TEXT,
    service_date TEXT,
    quantity TEXT NOT NULL,
    unit_price TEXT NOT NULL,
    net_amount TEXT NOT NULL,
    paid_amount TEXT,
    adjudication_reason TEXT,
    PRIMARY KEY (bill_id, sequence)
);
CREATE TABLE IF NOT EXISTS remittances (
    remittance_id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    insurer_identifier TEXT NOT NULL,
    created_at TEXT NOT NULL,
    payment_date TEXT NOT NULL,
    payment_reference TEXT NOT NULL,
    payment_amount TEXT NOT NULL,
    deliveries_remaining INTEGER NOT NULL,
    acknowledged_at TEXT
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

DATABASE_FILE_NAME = "sandbox.sqlite3"


def database_path(data_dir: Path) -> Path:
    return Path(data_dir) / DATABASE_FILE_NAME


def connect(data_dir: Path) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction
    # means exactly what the code says.
    connection = sqlite3.connect(database_path(data_dir), timeout=10.0, isolation_level=None, check_same_thread=True)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA busy_timeout = 10000")
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("PRAGMA synchronous = NORMAL")
    return connection


# Writers of this process queue here before BEGIN IMMEDIATE: a thread waiting on SQLite's busy
# handler sleeps in growing steps and misses the moment the lock is free, which under 8 server
# threads cost more than the writes themselves. The busy timeout still covers other processes.
_writer = threading.Lock()


@contextlib.contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that takes the write lock up front."""
    with _writer:
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        else:
            connection.execute("COMMIT")


def initialise(data_dir: Path) -> None:
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    connection = connect(data_dir)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.executescript(SCHEMA)
        with transaction(connection):
            connection.execute(
                "INSERT OR IGNORE INTO settings (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            stored = get_setting(connection, "schema_version")
            # Bills stored under the sandbox's first status words take Healthcode's published ones.
            for older, published in (("Failed", "AwaitingCorrection"), ("Awaiting collection", "AwaitingCollection")):
                connection.execute("UPDATE bills SET status = ? WHERE status = ?", (published, older))
        if stored != str(SCHEMA_VERSION):
            # No migrations yet: say so plainly rather than run on a schema we do not know.
            raise RuntimeError(
                f"{database_path(data_dir)} has sandbox schema {stored}, this code needs {SCHEMA_VERSION}: "
                "move the data directory away to start afresh"
            )
    finally:
        connection.close()


def next_number(connection: sqlite3.Connection, counter_name: str) -> int:
    """Next value of a named counter; call inside a write transaction."""
    connection.execute(
        "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1",
        (counter_name,),
    )
    return connection.execute("SELECT value FROM counters WHERE name = ?", (counter_name,)).fetchone()[0]


def get_setting(connection: sqlite3.Connection, key: str) -> str | None:
    row = connection.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def put_setting(connection: sqlite3.Connection, key: str, value: str) -> None:
    connection.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
