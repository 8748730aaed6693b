"""Collections at scale (registered as `receivables`: `python -m bench [--quick] receivables`).

- chase run: 100,000 open patient debts (20,000 patients, a third of the debts chased before, one
  in twenty disputed or promised), written with `insert_rows` (COPY on PostgreSQL). Timed: the
  decision alone (`selectors.chase_candidates`, what each debt needs today, one query) and the
  whole run (`services.create_chase_run`: the decision and its items written). Target on
  PostgreSQL: under 10 s.
- statements: 1,000 statement PDFs, each built from its patient's account and printed by
  WeasyPrint (each its own PDF, as a run emails them and zips them to post, on every core), then
  100 as one PDF (a run's download up to `statements.MERGED_UP_TO`).
  Target: under 2 minutes. CPU seconds are stated beside the wall clock: on a shared machine the
  wall clock carries other work.
- memory: the process's peak resident set (resource.getrusage maxrss) after each part, and the
  Python heap's peak (tracemalloc) during the chase decision.

--quick: 10,000 debts and 100 statements. BENCH_RECEIVABLES_STATEMENTS=n: n statements.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import resource
import sys
import time
import tracemalloc
from decimal import Decimal

from bench import benchmark
from bench import quick as quick_run
from bench.scale_data import model_defaults

DEBTS = 100_000
QUICK_DEBTS = 10_000
STATEMENTS = 1_000
QUICK_STATEMENTS = 100
DEBTS_PER_PATIENT = 5
CHASE_TARGET_S = 10.0
STATEMENTS_TARGET_S = 120.0
CHUNK = 20_000


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def build(*, debts: int, seed: int = 16) -> dict:
    """A practice whose patients owe `debts` open self-pay bills (DEBTS_PER_PATIENT each on
    average), due from 120 days ago to 10 days ahead; a third chased before (the statement, and
    for the older ones a reminder); one in twenty disputed or promised to pay."""
    from django.db import connection

    from openpractice.accounts.models import User
    from openpractice.billing.models import Invoice
    from openpractice.db.bulk import analyze, insert_rows
    from openpractice.patients.models import Patient
    from openpractice.practices.models import Membership, Practice
    from openpractice.receivables.models import AccountActivity, Debt

    rng = random.Random(seed)
    today = dt.date.today()
    practice = Practice.objects.create(name="Collections bench", phone="020 7946 0000", email="accounts@bench.test")
    user = User.objects.create_user(
        email=f"dr@{practice.pk}.receivables.bench", password="x" * 20, full_name="Dr Bench"
    )
    doctor = Membership.objects.create(user=user, practice=practice, role="practitioner")

    patients = max(1, debts // DEBTS_PER_PATIENT)
    columns, template = model_defaults(Patient, practice=practice, date_of_birth=today)
    rows = []
    for n in range(patients):
        last = f"Owes{n:06d}"
        rows.append(
            tuple(
                {
                    **template,
                    "first_name": "Pat",
                    "last_name": last,
                    "first_name_key": "pat",
                    "last_name_key": last.lower(),
                    "date_of_birth": dt.date(1950, 1, 1) + dt.timedelta(days=n % 20000),
                    "email": f"pat{n}@example.test" if n % 4 else "",
                    "email_key": f"pat{n}@example.test" if n % 4 else "",
                    "address_line1": f"{n % 200 + 1} High Street",
                    "city": "London",
                    "postcode": "W1 1AA",
                }[c]
                for c in columns
            )
        )
    for start in range(0, len(rows), CHUNK):
        insert_rows(Patient._meta.db_table, tuple(columns), rows[start : start + CHUNK])
    patient_ids = list(Patient.objects.filter(practice=practice).order_by("pk").values_list("pk", flat=True))

    columns, template = model_defaults(
        Invoice, practice=practice, patient_id=patient_ids[0], practitioner=doctor, invoice_date=today
    )
    now = dt.datetime.now(dt.UTC)
    invoice_rows, plans = [], []
    for n in range(debts):
        due = today - dt.timedelta(days=rng.randint(-10, 120))
        total = Decimal(rng.choice(("95.00", "120.50", "180.00", "250.00", "420.00")))
        paid = (total * Decimal("0.4")).quantize(Decimal("0.01")) if rng.random() < 0.15 else Decimal("0.00")
        invoice_rows.append(
            tuple(
                {
                    **template,
                    "number": f"RB{n:07d}",
                    "bill_to": "patient",
                    "patient_id": patient_ids[n % len(patient_ids)],
                    "invoice_date": due,
                    "due_date": due,
                    "record_status": "issued",
                    "payment_outcome": "part_paid" if paid else "unpaid",
                    "net_total": total,
                    "total": total,
                    "paid_total": paid,
                    "issued_at": now,
                    "created_at": now,
                    "updated_at": now,
                }[c]
                for c in columns
            )
        )
        plans.append((due, rng.random()))
    for start in range(0, len(invoice_rows), CHUNK):
        insert_rows(Invoice._meta.db_table, tuple(columns), invoice_rows[start : start + CHUNK])
    invoices = list(Invoice.objects.filter(practice=practice).order_by("pk").values_list("pk", "patient_id", "total"))

    act_columns, act_template = model_defaults(
        AccountActivity, practice=practice, patient_id=patient_ids[0], kind="chase_sent", on_date=today
    )
    debt_columns, debt_template = model_defaults(Debt, practice=practice, invoice_id=invoices[0][0])
    activities, holds = [], []
    for (invoice_id, patient_id, total), (due, dice) in zip(invoices, plans):
        overdue = (today - due).days
        if dice < 0.33 and overdue >= 0:
            sends = [("statement", due)]
            if overdue >= 20:
                sends.append(("reminder", due + dt.timedelta(days=14)))
            for stage, on in sends:
                activities.append(
                    tuple(
                        {
                            **act_template,
                            "patient_id": patient_id,
                            "invoice_id": invoice_id,
                            "stage": stage,
                            "channel": "email",
                            "on_date": on,
                            "amount": total,
                        }[c]
                        for c in act_columns
                    )
                )
        elif dice > 0.95:
            promised = dice > 0.975
            holds.append(
                tuple(
                    {
                        **debt_template,
                        "invoice_id": invoice_id,
                        "disputed": not promised,
                        "dispute_reason": "" if promised else "Says the insurer should pay",
                        "promised_until": today + dt.timedelta(days=10) if promised else None,
                        "promised_amount": total if promised else None,
                    }[c]
                    for c in debt_columns
                )
            )
    for start in range(0, len(activities), CHUNK):
        insert_rows(AccountActivity._meta.db_table, tuple(act_columns), activities[start : start + CHUNK])
    insert_rows(Debt._meta.db_table, tuple(debt_columns), holds)
    if connection.vendor == "postgresql":
        analyze(Patient._meta.db_table, Invoice._meta.db_table, AccountActivity._meta.db_table, Debt._meta.db_table)
    return {"practice": practice, "patients": len(patient_ids), "debts": debts, "chased_before": len(activities)}


def chase(world: dict, backend: str) -> list[dict]:
    from openpractice.receivables import selectors, services

    practice, today = world["practice"], dt.date.today()
    selectors.chase_candidates(practice=practice, today=today - dt.timedelta(days=400))  # warm the connection
    started, cpu = time.perf_counter(), time.process_time()
    candidates = selectors.chase_candidates(practice=practice, today=today)
    decided, decided_cpu = time.perf_counter() - started, time.process_time() - cpu
    tracemalloc.start()  # a second decision for its memory: tracemalloc slows what it watches
    selectors.chase_candidates(practice=practice, today=today)
    heap_peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    started = time.perf_counter()
    run = services.create_chase_run(practice=practice, today=today)
    whole = time.perf_counter() - started
    items = run.items.count()
    assert items == len(candidates)
    on_pg = backend == "postgresql"
    detail = (
        f"{world['debts']:,} open debts of {world['patients']:,} patients, {world['chased_before']:,} stages sent "
        f"before; {len(candidates):,} need a stage today"
    )
    return [
        {
            "metric": f"chase decision ({world['debts']:,} open debts)",
            "value": decided,
            "unit": "s",
            "target": f"< {CHASE_TARGET_S:.0f} s on PostgreSQL",
            **({"ok": decided < CHASE_TARGET_S} if on_pg else {}),
            "detail": f"{detail}; {decided_cpu:.1f} s CPU in Python",
        },
        {
            "metric": f"chase run made: decision + {items:,} items written",
            "value": whole,
            "unit": "s",
            "target": f"< {CHASE_TARGET_S:.0f} s on PostgreSQL",
            **({"ok": whole < CHASE_TARGET_S} if on_pg else {}),
            "detail": detail,
        },
        {"metric": "chase decision: Python heap peak (tracemalloc)", "value": heap_peak, "unit": "MB"},
        {"metric": "peak memory after the chase run (maxrss)", "value": _peak_rss_mb(), "unit": "MB"},
    ]


def statements(world: dict, count: int) -> list[dict]:
    from openpractice.patients.models import Patient
    from openpractice.receivables import statements as st

    practice = world["practice"]
    patients = list(Patient.objects.filter(practice=practice).order_by("pk")[:count])
    st.statements_pdf([st.build_statement(practice=practice, patient=patients[0])])  # fonts and CSS loaded once
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, cpu = time.perf_counter(), time.process_time()
    built = [st.build_statement(practice=practice, patient=p) for p in patients]
    pdfs = st.pdfs_of(built)  # each its own PDF, as a run emails them, on every core
    assert len(pdfs) == len(patients) and all(pdf.startswith(b"%PDF") for pdf in pdfs)
    each = time.perf_counter() - started
    each_cpu = time.process_time() - cpu
    done = resource.getrusage(resource.RUSAGE_CHILDREN)  # the printing workers', once they have ended
    workers_cpu = (done.ru_utime + done.ru_stime) - (children.ru_utime + children.ru_stime)
    cores = min(st._cores(), len(built)) if len(built) >= st.PARALLEL_FROM else 1
    one_by_one = _said(
        [
            {
                "metric": f"{len(patients):,} statement PDFs, one by one",
                "value": each,
                "unit": "s",
                "target": f"< {STATEMENTS_TARGET_S:.0f} s",
                "ok": each < STATEMENTS_TARGET_S,
                "detail": f"{each / len(patients) * 1000:.0f} ms each, {cores} process(es) printing; "
                f"CPU {each_cpu + workers_cpu:.0f} s in all ({workers_cpu:.0f} s printing in workers), "
                f"{(each_cpu + workers_cpu) / len(patients) * 1000:.0f} ms a statement",
            },
            {"metric": "peak memory after the statement PDFs (maxrss)", "value": _peak_rss_mb(), "unit": "MB"},
        ]
    )
    # A run's download: one PDF up to MERGED_UP_TO statements (a bigger run's is a zip of the PDFs above).
    merged_count = min(len(patients), st.MERGED_UP_TO)
    started = time.perf_counter()
    merged = st.statements_pdf([st.build_statement(practice=practice, patient=p) for p in patients[:merged_count]])
    together = time.perf_counter() - started
    return one_by_one + [
        {
            "metric": f"{merged_count:,} statements in one PDF (to post)",
            "value": together,
            "unit": "s",
            "detail": f"{len(merged) / 1e6:.1f} MB",
        },
        {"metric": "peak memory after the statements (maxrss)", "value": _peak_rss_mb(), "unit": "MB"},
    ]


def _said(rows: list[dict]) -> list[dict]:
    """Each part's rows on stderr as it finishes: a run cut short still tells what it measured."""
    for r in rows:
        print(f"  receivables: {r['metric']}: {r['value']:.2f} {r['unit']} {r.get('detail', '')}", file=sys.stderr)
    return rows


def run(*, debts: int, statement_count: int, backend: str) -> list[dict]:
    started = time.perf_counter()
    world = build(debts=debts)
    built = time.perf_counter() - started
    rows = _said([{"metric": f"data built ({debts:,} debts, insert_rows)", "value": built, "unit": "s"}])
    rows += _said(chase(world, backend))
    printed = statements(world, min(statement_count, world["patients"]))
    _said(printed[2:])  # the first two were said as they were measured
    rows += printed
    return rows


@benchmark("receivables")
def receivables() -> list[dict]:
    from django.db import connection

    quick = quick_run()
    # BENCH_RECEIVABLES_STATEMENTS: fewer statements (the chase at full size), on a busy machine.
    count = int(os.environ.get("BENCH_RECEIVABLES_STATEMENTS") or (QUICK_STATEMENTS if quick else STATEMENTS))
    return run(debts=QUICK_DEBTS if quick else DEBTS, statement_count=count, backend=connection.vendor)
