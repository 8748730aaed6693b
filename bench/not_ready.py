"""healthcode-not-ready: the invoice list's "Not ready to submit" view and the dashboard read the
stored pre-submission checks (healthcode/stored_checks.py) instead of checking every bill per
request. 5,000 candidate insurer bills (1,000 with --quick), an eighth failing the check: how fast
`recheck_all` stores them, then each page's p50/p95 over a logged-in client with its query count,
and the time a page spends checking 200 edited bills inline.

Measured on PostgreSQL, 5,000 candidates (625 failing), 2 cores shared with other sessions, 4 Dec
2026, median of 7 over a logged-in test client. Load average 3.5: before (b77ae2a, every candidate
checked per request) Not ready 916 ms (25 queries, and it checked only the newest 500) and the
dashboard 781 ms; after, Not ready 81 ms (9 queries, 13 ms of SQL) and the dashboard 50 ms (20
queries), the plain invoice list 97 ms; `recheck_all` stored the 5,000 in 2.5 s. At load average
12: before 1,376 / 1,602 ms, after 153-182 / 115-136 ms. The page's remaining time is template
rendering (billing's status badge's `if` chain per row), not SQL."""

from __future__ import annotations

import time

from bench import benchmark, percentile, quick

ROUNDS = 15


@benchmark("healthcode-not-ready")
def not_ready_pages() -> list[dict]:
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.harness import make_invoices
    from openpractice.accounts.models import User
    from openpractice.billing.models import Invoice
    from openpractice.healthcode import stored_checks
    from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE
    from openpractice.practices.models import Practice

    count = 1000 if quick() else 5000
    call_command("seed_demo", "--quiet-if-exists", "--no-history", verbosity=0)
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    make_invoices(practice=practice, count=count)
    bupa = list(
        Invoice.objects.filter(practice=practice, patient__last_name="Bennett")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    Invoice.objects.filter(pk__in=bupa[::2]).update(primary_diagnosis="")  # Bupa requires one
    started = time.perf_counter()
    checked = stored_checks.recheck_all(practice=practice)
    rate = checked / (time.perf_counter() - started)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    client = Client()
    client.force_login(User.objects.get(email="billing@demo.openpractice.test"))
    results = [{"metric": f"bills checked and stored ({checked:,})", "value": rate, "unit": "bills/s"}]
    for name, url in (("Not ready to submit", "/invoices/?view=not_ready"), ("dashboard", "/")):
        client.get(url)
        times = []
        for _ in range(ROUNDS):
            with CaptureQueriesContext(connection) as captured:
                t = time.perf_counter()
                assert client.get(url).status_code == 200
                times.append((time.perf_counter() - t) * 1000)
        p95 = percentile(times, 0.95)
        results += [
            {"metric": f"{name} p50", "value": percentile(times, 0.5), "unit": "ms"},
            {"metric": f"{name} p95", "value": p95, "unit": "ms", "target": "< 300", "ok": p95 < 300},
            {"metric": f"{name} queries", "value": float(len(captured.captured_queries)), "unit": "queries"},
        ]

    # A page after 200 bills were edited: it checks them itself before reading.
    edited = list(Invoice.objects.filter(practice=practice).order_by("pk").values_list("pk", flat=True)[:200])
    stored_checks.mark_invoices_stale(Invoice.objects.filter(pk__in=edited))
    t = time.perf_counter()
    assert client.get("/invoices/?view=not_ready").status_code == 200
    results.append(
        {
            "metric": "Not ready to submit, 200 bills checked inline",
            "value": (time.perf_counter() - t) * 1000,
            "unit": "ms",
        }
    )
    return results
