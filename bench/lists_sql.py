"""Issue 18's list and report reads, before and after keyset paging, on a scale world.

    python -m bench.lists_sql [--database lists_bench] [--repeat 5]

Builds (once, with bench.scale_data) or reuses the world in `--database`, then times each read the
invoice list and aged debt make, as the pages call them (the ORM included), the median of
`--repeat` runs after one warm-up: "before" is the code as it was (reproduced here: the first 50
of the whole filter and a count of every row; aged debt grouping every payer, sorted in Python,
names 500 at a time, "owing" spelled as it was) on the indexes as they were (billing migrated
back to 0004, which takes reports/0002 with it); "after" is
billing.selectors.invoice_page and reports.selectors.aged_debt on billing/0005's and
reports/0002's indexes. Each
"after" read's plan is checked for a sequential scan of billing_invoice. Figures print as a table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from bench import scale_data


def _timed(fn, repeat: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fn()
    times, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            fn()
            times.append((time.perf_counter() - started) * 1000)
        queries = len(captured.captured_queries)
    return statistics.median(times), queries


def _before(practice, surname: str, number: str):
    """The reads as they were before keyset paging (billing/selectors.py and reports/selectors.py)."""
    from django.db.models import Count, F, Q

    from openpractice.billing.models import Invoice
    from openpractice.contacts.models import Contact
    from openpractice.patients.models import Patient
    from openpractice.reports import selectors as reports

    def invoice_list(query: str = "", **filters):
        qs = Invoice.objects.filter(practice=practice, **filters).select_related(
            "patient", "insurer_contact__insurer", "practitioner__user", "insurance"
        )
        if query:
            qs = qs.filter(number__istartswith=query) | qs.filter(patient__last_name__istartswith=query)
        qs = qs.order_by("-invoice_date", "-id")
        rows = list(qs[:50])
        return rows, qs.count() if len(rows) >= 50 else len(rows)

    old_owing = ~Q(total=F("paid_total") + F("credited_total") + F("written_off_total"))

    def aged(by: str):
        today = reports.timezone.localdate()
        group = "patient_id" if by == "patient" else "insurer_contact_id"
        qs = Invoice.objects.filter(practice=practice, record_status="issued", bill_to=by).filter(old_owing)
        grouped = list(qs.values(group).annotate(n=Count("id"), **reports._bucket_sums(today)).order_by())
        keys = [g[group] for g in grouped]
        labels = {}
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            if by == "patient":
                for pk, first, last in Patient.objects.filter(pk__in=batch).values_list(
                    "pk", "first_name", "last_name"
                ):
                    labels[pk] = f"{last}, {first}"
            else:
                labels.update(Contact.objects.filter(pk__in=batch).values_list("pk", "name"))
        rows = sorted(grouped, key=lambda g: (-sum(g[f"b{i}"] for i in range(4)), labels.get(g[group], "")))
        return rows

    return {
        "invoice list, default": lambda: invoice_list(),
        "invoice list, surname prefix": lambda: invoice_list(surname),
        "invoice list, by number": lambda: invoice_list(number),
        "invoice list, status failed": lambda: invoice_list(healthcode_status="failed"),
        "aged debt by patient": lambda: aged("patient"),
        "aged debt by insurer": lambda: aged("insurer"),
    }


def _after(practice, surname: str, number: str):
    from openpractice.billing import selectors as billing
    from openpractice.reports import selectors as reports

    def older_page():
        first = billing.invoice_page(practice=practice)
        return billing.invoice_page(practice=practice, after=first.older)

    return {
        "invoice list, default": lambda: billing.invoice_page(practice=practice),
        "invoice list, surname prefix": lambda: billing.invoice_page(practice=practice, query=surname),
        "invoice list, by number": lambda: billing.invoice_page(practice=practice, query=number),
        "invoice list, status failed": lambda: billing.invoice_page(practice=practice, healthcode_status="failed"),
        "invoice list, page 2 (incl. page 1)": older_page,
        "'Select all N matching' count, default": lambda: billing.count_up_to(
            billing.submittable_matching(practice=practice)
        ),
        "'Select all N matching' count, surname": lambda: billing.count_up_to(
            billing.submittable_matching(practice=practice, query=surname)
        ),
        "aged debt by patient": lambda: reports.aged_debt(practice=practice, by="patient", page=1),
        "aged debt by patient, page 20": lambda: reports.aged_debt(practice=practice, by="patient", page=20),
        "aged debt by insurer": lambda: reports.aged_debt(practice=practice, by="insurer", page=1),
    }


def _seq_scans(fn) -> list[str]:
    """The queries of `fn` whose plan reads billing_invoice from end to end."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn()
    found = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute("EXPLAIN " + query["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
            if "Seq Scan on billing_invoice" in plan:
                found.append(query["sql"][:160])
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lists_sql", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="lists_bench")
    parser.add_argument("--invoices", type=int, default=500_000)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    scale_data.setup_django(args.database)
    scale_data.ensure(scale_data.Sizes(args.invoices, args.patients, 2000), name=args.database)

    from django.core.management import call_command
    from django.db import connection

    from openpractice.billing.models import Invoice
    from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE
    from openpractice.practices.models import Practice

    practice = Practice.objects.get(name=DEMO_PRACTICE)
    invoices = Invoice.objects.filter(practice=practice).count()
    sample = Invoice.objects.filter(practice=practice).exclude(number="").order_by("id")[invoices // 2]
    surname, number = sample.patient.last_name[:4].lower(), sample.number
    print(f"{invoices:,} invoices; surname prefix {surname!r}, number {number!r}", flush=True)

    results: dict[str, dict] = {}
    call_command("migrate", "billing", "0004", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE billing_invoice")
    for name, fn in _before(practice, surname, number).items():
        results.setdefault(name, {})["before"] = _timed(fn, args.repeat)
        print(f"  before  {name}: {results[name]['before'][0]:.1f} ms", flush=True)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE billing_invoice")
    for name, fn in _after(practice, surname, number).items():
        results.setdefault(name, {})["after"] = _timed(fn, args.repeat)
        results[name]["seq_scans"] = _seq_scans(fn)
        print(f"  after   {name}: {results[name]['after'][0]:.1f} ms", flush=True)

    print(f"\n| read ({invoices:,} invoices, PostgreSQL) | before ms (queries) | after ms (queries) | seq scan |")
    print("|---|---|---|---|")
    for name, row in results.items():
        before = f"{row['before'][0]:,.1f} ({row['before'][1]})" if "before" in row else "—"
        after = f"{row['after'][0]:,.1f} ({row['after'][1]})" if "after" in row else "—"
        print(f"| {name} | {before} | {after} | {'yes' if row.get('seq_scans') else 'no'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
