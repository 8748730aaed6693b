"""Monthly consultant reports at a bureau's size (registered as `consultant_reports`:
`python -m bench [--quick] consultant_reports`).

A bureau of 50 practices, each with 20,000 invoices over two years (PostgreSQL; 2,000 a practice on
SQLite, 400 with --quick), about half paid (a remittance allocation for an insurer bill, a payment
for a self-pay one, some reversed) and some written off. Then last month's report of every practice
is made as the monthly schedule makes it: the figures (aggregates in SQL), the saved snapshot, the
PDF and the CSV. Target: the 50 reports in under a minute on PostgreSQL.

The rows are written with COPY (openpractice.db.bulk.insert_rows), their ids taken from each
table's sequence, so building the million invoices is minutes, not hours.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import time
from decimal import Decimal

from bench import benchmark, percentile
from bench import quick as quick_run

PRACTICES = 50
INVOICES = 20_000  # a practice, PostgreSQL (the size)
SQLITE_INVOICES = 2_000
QUICK_INVOICES = 400
DAYS = 730
TARGET_SECONDS = 60


def _first_id(table: str, count: int) -> int:
    """The first of `count` ids for rows written with their ids (the sequence moved past them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            first = cursor.fetchone()[0] + 1
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + count])
            return first
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        return cursor.fetchone()[0] + 1


def _template(model, **given) -> dict:
    """Every column of a model with the value an unsaved instance holds (as COPY text takes it)."""
    now = dt.datetime.now(dt.UTC)
    instance = model(**given)
    values: dict[str, object] = {}
    for field in model._meta.concrete_fields:
        value = getattr(instance, field.attname)
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        if field.get_internal_type() == "JSONField":
            value = json.dumps(value)
        values[field.column] = value
    return values


def _write(table: str, template: dict, rows: list[dict]) -> None:
    from openpractice.db.bulk import insert_rows

    columns = tuple(template)
    insert_rows(table, columns, [tuple({**template, **row}[c] for c in columns) for row in rows])


def build_practice(n: int, invoices: int, today: dt.date, rng: random.Random) -> dict:
    """One practice of the bureau with `invoices` invoices and what paid them; its expected totals."""
    from openpractice.accounts.models import User
    from openpractice.billing.models import Invoice, Payment
    from openpractice.contacts.models import Contact
    from openpractice.patients.models import Patient
    from openpractice.practices.models import Membership, Practice
    from openpractice.receivables.models import WriteOff, WriteOffEntry
    from openpractice.remittances.models import Allocation

    practice = Practice.objects.create(name=f"Consultant {n:02d}", address_line1=f"{n} Harley Street", city="London")
    # no password (unusable): hashing one costs a third of a second, and nobody signs in here
    user = User.objects.create_user(email=f"consultant{n}@bureau.bench", password=None, full_name=f"Dr Bench {n}")
    doctor = Membership.objects.create(user=user, practice=practice, role="owner")
    insurers = [
        Contact.objects.create(practice=practice, contact_type="insurer", name=name)
        for name in ("Bupa", "AXA Health", "Aviva", "Vitality", "WPA")
    ]
    patients = Patient.objects.bulk_create(
        [
            Patient(practice=practice, first_name="Pat", last_name=f"Bench{i}", date_of_birth=dt.date(1960, 1, 1))
            for i in range(max(20, invoices // 20))
        ]
    )
    if patients[0].pk is None:  # SQLite before returning ids
        patients = list(Patient.objects.filter(practice=practice).order_by("pk"))
    invoice_t = _template(Invoice, practice_id=practice.pk, practitioner_id=doctor.pk)
    payment_t = _template(Payment, practice_id=practice.pk, amount=Decimal("1"), received_on=today)
    allocation_t = _template(Allocation, practice_id=practice.pk, amount=Decimal("1"), posted_on=today)
    first_invoice = _first_id("billing_invoice", invoices)
    rows, payments, allocations = [], [], []
    for i in range(invoices):
        day = today - dt.timedelta(days=int(DAYS * (1 - (i + 0.5) / invoices)))
        insurer = insurers[i % len(insurers)] if rng.random() < 0.8 else None
        total = Decimal(rng.choice(["180.00", "250.00", "95.00", "1450.00", "620.50"]))
        paid = total if rng.random() < 0.55 else (total * Decimal("0.8")).quantize(Decimal("0.01"))
        paid = paid if rng.random() < 0.7 or (today - day).days > 120 else Decimal("0.00")
        on = min(today, day + dt.timedelta(days=rng.randint(5, 60)))
        rows.append(
            {
                "id": first_invoice + i,
                "number": f"B{n:02d}{i:07d}",
                "bill_to": "insurer" if insurer else "patient",
                "patient_id": patients[i % len(patients)].pk,
                "insurer_contact_id": insurer.pk if insurer else None,
                "invoice_date": day,
                "record_status": "issued",
                "payment_outcome": "paid" if paid == total else "part_paid" if paid else "unpaid",
                "net_total": total,
                "total": total,
                "paid_total": paid,
                "issued_at": dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC),
            }
        )
        if paid and insurer:
            allocations.append(
                {
                    "invoice_id": first_invoice + i,
                    "kind": "insurer_payment",
                    "amount": paid,
                    "insurer_contact_id": insurer.pk,
                    "posted_on": on,
                }
            )
        elif paid:
            payments.append({"invoice_id": first_invoice + i, "amount": paid, "received_on": on, "method": "card"})
    _write("billing_invoice", invoice_t, rows)
    first_payment = _first_id("billing_payment", len(payments))
    _write(
        "billing_payment", {"id": None, **payment_t}, [{**p, "id": first_payment + k} for k, p in enumerate(payments)]
    )
    first_allocation = _first_id("remittances_allocation", len(allocations))
    _write(
        "remittances_allocation",
        {"id": None, **allocation_t},
        [{**a, "id": first_allocation + k} for k, a in enumerate(allocations)],
    )
    # a few write-offs of patient debts through the ledger's own rows
    owing = Invoice.objects.filter(practice=practice, bill_to="patient", paid_total=0).order_by("-invoice_date")[:5]
    for invoice in owing:
        request = WriteOff.objects.create(
            practice=practice, invoice=invoice, amount=invoice.total, reason="Bench", status="approved"
        )
        WriteOffEntry.objects.create(
            practice=practice, invoice=invoice, write_off=request, amount=invoice.total, reason="Bench", posted_on=today
        )
    return {"practice": practice, "invoices": invoices, "payments": len(payments), "allocations": len(allocations)}


def make_reports(practices: list, month: dt.date) -> tuple[list[float], list[int], int]:
    """Every practice's report for `month`: figures, saved snapshot, PDF and CSV. Seconds and
    queries of each, and the PDF bytes made."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from openpractice.reports import consultant
    from openpractice.reports.consultant_pdf import report_pdf
    from openpractice.reports.consultant_services import csv_bytes, save_report

    seconds, queries, pdf_bytes = [], [], 0
    for practice in practices:
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            report = save_report(practice=practice, month=month)
        figures = consultant.Figures.from_snapshot(report.figures)
        pdf_bytes += len(report_pdf(figures=figures, practice=practice, generated_at=report.generated_at))
        csv_bytes(figures)
        seconds.append(time.perf_counter() - started)
        queries.append(len(captured.captured_queries))
    return seconds, queries, pdf_bytes


def build_world(invoices: int, practices: int = PRACTICES) -> tuple[list[dict], float]:
    """The bureau's practices (build_practice each, in its own transaction), analysed; and the
    seconds it took. bench/bureaus.py builds its world with this too."""
    from django.db import connection, transaction

    from openpractice.db.bulk import analyze

    today = dt.date.today()
    rng = random.Random(2026)
    started = time.perf_counter()
    built = []
    for n in range(practices):
        with transaction.atomic():
            built.append(build_practice(n, invoices, today, rng))
    analyze("billing_invoice", "billing_payment", "remittances_allocation")
    build_seconds = time.perf_counter() - started
    print(
        f"  {connection.vendor}: built {practices} practices x {invoices:,} invoices in {build_seconds:.0f} s",
        file=sys.stderr,
    )
    return built, build_seconds


def last_month() -> dt.date:
    today = dt.date.today()
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def timed_reports(practices: list, month: dt.date) -> tuple[list[float], list[int], int]:
    """make_reports over every practice, after one warm-up report (templates and WeasyPrint's
    fonts loaded once) whose saved row is then removed."""
    from openpractice.reports.consultant_models import ConsultantReport

    make_reports(practices[:1], month)
    ConsultantReport.objects.filter(month=month).delete()
    return make_reports(practices, month)


def run(invoices: int, practices: int = PRACTICES) -> list[dict]:
    from django.db import connection

    backend = connection.vendor
    month = last_month()
    built, build_seconds = build_world(invoices, practices)
    seconds, queries, pdf_bytes = timed_reports([b["practice"] for b in built], month)
    total = sum(seconds)
    ok = total < TARGET_SECONDS if backend == "postgresql" else None
    size = f"{practices} practices x {invoices:,} invoices"
    return [
        {
            "metric": f"{backend}: {practices} monthly consultant reports ({size}; figures, saved, PDF, CSV)",
            "value": total,
            "unit": "s",
            "target": f"< {TARGET_SECONDS} (PostgreSQL)",
            **({"ok": ok} if ok is not None else {}),
            "detail": f"per report p50 {percentile(seconds, 0.5) * 1000:.0f} ms, p95 {percentile(seconds, 0.95) * 1000:.0f} ms; "
            f"queries per report {min(queries)}-{max(queries)}; PDFs {pdf_bytes / 1e6:.1f} MB; built in {build_seconds:.0f} s",
        },
        {
            "metric": f"{backend}: consultant report, queries per report",
            "value": float(max(queries)),
            "unit": "queries",
            "target": "the same for every practice",
            "ok": min(queries) == max(queries),
        },
    ]


@benchmark("consultant_reports")
def consultant_reports_entry() -> list[dict]:
    from django.db import connection

    if quick_run():
        invoices = QUICK_INVOICES
    else:
        invoices = INVOICES if connection.vendor == "postgresql" else SQLITE_INVOICES
    rows = run(invoices)
    for r in rows:
        print(f"  {r['metric']}: {r.get('detail', '')}", file=sys.stderr)
    return rows
