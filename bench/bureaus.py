"""A billing bureau at the issue's size (registered as `bureaus`: `python -m bench [--quick] bureaus`),
the three targets of issue 17 in one run:

1. The combined queue: 50 practices of 20,000 invoices each (PostgreSQL; 2,000 on SQLite, 200
   with --quick), built by bench/consultant_reports.py's `build_world` (COPY), plus in every
   practice bills Healthcode failed, stored checks (ready and not ready), a remittance with lines
   to review, and the world's unpaid self-pay invoices as debts. A bureau user, a member of all 50
   (the "billing" role), opens `/bureau/?kind=...` for each kind through Django's test Client
   (force_login: a real session, the whole middleware stack, the template rendered; no socket),
   and the aged debt by practice the page shows (the kept count, bureaus.debt_summaries) on its
   own too. Target: p95 < 200 ms each. Counting aged debt afresh over the 50 practices (the
   worker's task when a count is over two minutes old) is timed too, without a target.
2. The data import: bench/imports.py's `patient_import` (100,000 patients). Target >= 5,000 rows/s.
3. The monthly reports: bench/consultant_reports.py's `timed_reports` over the same 50 practices.
   Target: all 50 in under a minute.
"""

from __future__ import annotations

import datetime as dt
import sys
import time

from bench import benchmark, percentile
from bench import quick as quick_run

PRACTICES = 50
INVOICES = 20_000  # a practice, PostgreSQL (the size)
SQLITE_INVOICES = 2_000
QUICK_INVOICES = 200
REQUESTS = 30  # each kind's page, after a warm-up
FAILED, CHECKED, REVIEW_LINES = 100, 1_000, 50  # a practice's queue rows (fewer when it has fewer bills)
TARGET_MS = 200


def add_queue_rows(practices: list, *, failed: int = FAILED, checked: int = CHECKED, lines: int = REVIEW_LINES) -> None:
    """The work the combined queue lists, in every practice: its newest insurer bills failed, the
    next ones checked (a third not ready, with a reason), one remittance with lines to review."""
    from django.db import transaction
    from django.utils import timezone

    from openpractice.billing.models import BillTo, HealthcodeStatus, Invoice
    from openpractice.db.bulk import analyze
    from openpractice.healthcode.models import InvoiceCheck, InvoiceCheckProblem
    from openpractice.remittances.models import LineStatus, RemittanceBatch, RemittanceLine

    now = timezone.now()
    for practice in practices:
        with transaction.atomic():
            bills = list(
                Invoice.objects.filter(practice=practice, bill_to=BillTo.INSURER)
                .order_by("-invoice_date", "-id")
                .values_list("id", "invoice_date", "number", "total")[: failed + checked]
            )
            Invoice.objects.filter(pk__in=[b[0] for b in bills[:failed]]).update(
                healthcode_status=HealthcodeStatus.FAILED
            )
            checks = [
                InvoiceCheck(
                    invoice_id=pk,
                    practice=practice,
                    passed=k % 3 != 0,
                    error_count=0 if k % 3 else 1,
                    invoice_date=day,
                    checked_at=now,
                )
                for k, (pk, day, _, _) in enumerate(bills[failed:])
            ]
            InvoiceCheck.objects.bulk_create(checks, batch_size=2_000)
            InvoiceCheckProblem.objects.bulk_create(
                [
                    InvoiceCheckProblem(
                        stored_check_id=c.invoice_id,
                        position=0,
                        code="membership-number",
                        field="MembershipNumber",
                        message="The insurer's registration number is missing",
                    )
                    for c in checks
                    if not c.passed
                ],
                batch_size=2_000,
            )
            batch = RemittanceBatch.objects.create(
                practice=practice,
                source="clearing_house",
                external_id=f"BENCH-{practice.pk}",
                insurer_identifier="bup",
                insurer_name="Bupa",
                payment_reference=f"BACS{practice.pk:06d}",
                payment_date=dt.date.today() - dt.timedelta(days=3),
                raw_payload="{}",
            )
            RemittanceLine.objects.bulk_create(
                [
                    RemittanceLine(
                        practice=practice,
                        batch=batch,
                        sequence=k,
                        invoice_number=f"UNKNOWN{k}",
                        patient_name="Pat Unmatched",
                        amount_invoiced=bills[k % len(bills)][3],
                        amount_paid=bills[k % len(bills)][3],
                        status=LineStatus.REVIEW,
                        problem="No invoice with this number",
                    )
                    for k in range(lines if bills else 0)
                ]
            )
    analyze(
        "billing_invoice", "healthcode_invoicecheck", "healthcode_invoicecheckproblem", "remittances_remittanceline"
    )


def bureau_user(practices: list):
    """A bureau whose every practice the returned user (staff, "billing" role) is a member of."""
    from openpractice.accounts.models import User
    from openpractice.bureaus import services
    from openpractice.practices.models import Membership

    bureau = services.create_bureau(name="Bench Billing Bureau")
    user = User.objects.create_user(email="biller@bureau.bench", password=None, full_name="Bench Biller")
    services.add_staff(bureau=bureau, user=user)
    for practice in practices:
        services.add_practice(bureau=bureau, practice=practice)
        Membership.objects.create(user=user, practice=practice, role="billing")
    return user


def _analyze_everything() -> None:
    """Planner statistics for every table, as autovacuum keeps them on a live database: the world's
    patients, contacts and practices were written in bulk moments ago, and with no statistics the
    planner takes 50,000 patients for 1,300 and joins the wrong way round (seconds, not ms)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def time_queue(user, *, requests: int = REQUESTS) -> list[dict]:
    """p95 of each kind's page over the test Client (signed in), and of the aged debt alone."""
    from django.db import connection
    from django.test import Client

    from openpractice.bureaus import debt_summaries, selectors, services

    client = Client()
    client.force_login(user)
    rows = []
    for kind in selectors.Kind.ALL:
        url = f"/bureau/?kind={kind}"
        first = client.get(url)
        assert first.status_code == 200, (url, first.status_code)
        assert first.content.count(b'<tr data-practice="') > 0, f"{kind}: no rows listed"
        seconds = []
        for _ in range(requests):
            started = time.perf_counter()
            client.get(url)
            seconds.append(time.perf_counter() - started)
        rows.append(_timing(f"combined queue page, {selectors.Kind.LABELS[kind].lower()}", seconds))
    space = selectors.workspace(user=user)
    seconds = []
    for _ in range(requests):
        started = time.perf_counter()
        aged = services.aged_debt_for(space=space)
        seconds.append(time.perf_counter() - started)
    assert aged.rows, "no aged debt"
    rows.append(_timing(f"aged debt by practice (the kept count the page shows, {len(aged.rows)} practices)", seconds))
    seconds = []
    ids = space.practice_ids()
    for _ in range(max(requests // 3, 3)):
        started = time.perf_counter()
        debt_summaries.refresh(practice_ids=ids)
        seconds.append(time.perf_counter() - started)
    p95 = percentile(seconds, 0.95) * 1000
    rows.append(
        {
            "metric": f"{connection.vendor}: aged debt by practice counted afresh ({len(ids)} practices; "
            "the worker's task, off the page), p95",
            "value": p95,
            "unit": "ms",
            "detail": f"p50 {percentile(seconds, 0.5) * 1000:.0f} ms, n={len(seconds)}",
        }
    )
    return rows


def _timing(label: str, seconds: list[float]) -> dict:
    from django.db import connection

    p95 = percentile(seconds, 0.95) * 1000
    postgres = connection.vendor == "postgresql"
    return {
        "metric": f"{connection.vendor}: {label}, p95",
        "value": p95,
        "unit": "ms",
        "target": f"< {TARGET_MS} (PostgreSQL)",
        **({"ok": p95 < TARGET_MS} if postgres and not quick_run() else {}),
        "detail": f"p50 {percentile(seconds, 0.5) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms, n={len(seconds)}",
    }


def run(*, invoices: int, practices: int = PRACTICES, requests: int = REQUESTS, with_import: bool = True) -> list[dict]:
    from django.db import connection

    from bench import consultant_reports, imports

    backend = connection.vendor
    built, build_seconds = consultant_reports.build_world(invoices, practices)
    made = [b["practice"] for b in built]
    add_queue_rows(made, failed=min(FAILED, invoices // 10), checked=min(CHECKED, invoices // 5))
    user = bureau_user(made)
    _analyze_everything()
    size = f"{practices} practices x {invoices:,} invoices"
    rows = [{"metric": f"{backend}: world built ({size})", "value": build_seconds, "unit": "s"}]
    rows += time_queue(user, requests=requests)

    seconds, queries, pdf_bytes = consultant_reports.timed_reports(made, consultant_reports.last_month())
    total = sum(seconds)
    rows.append(
        {
            "metric": f"{backend}: {practices} monthly consultant reports ({size}; figures, saved, PDF, CSV)",
            "value": total,
            "unit": "s",
            "target": f"< {consultant_reports.TARGET_SECONDS} (PostgreSQL)",
            **(
                {"ok": total < consultant_reports.TARGET_SECONDS} if backend == "postgresql" and not quick_run() else {}
            ),
            "detail": f"per report p95 {percentile(seconds, 0.95) * 1000:.0f} ms; queries {min(queries)}-{max(queries)}; "
            f"PDFs {pdf_bytes / 1e6:.1f} MB",
        }
    )
    if with_import:
        rows += [{**r, "metric": f"{backend}: import, {r['metric']}"} for r in imports.patient_import()]
    return rows


@benchmark("bureaus")
def bureaus_entry() -> list[dict]:
    from django.db import connection

    if quick_run():
        invoices = QUICK_INVOICES
    else:
        invoices = INVOICES if connection.vendor == "postgresql" else SQLITE_INVOICES
    rows = run(invoices=invoices)
    for r in rows:
        if r.get("detail"):
            print(f"  {r['metric']}: {r['detail']}", file=sys.stderr)
    return rows
