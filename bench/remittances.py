"""Remittances and reports at scale (registered as `remittances`: `python -m bench [--quick] remittances`).

- reconcile: a remittance Bundle of 100,000 bills (the clearing house's shape: a
  PaymentReconciliation detail per bill and a ClaimResponse per bill with its line adjudication)
  posted against 100,000 issued insurer invoices: read, matched by invoice number, allocated line
  by line in the ledger, invoices' paid totals and outcomes updated, committed. Three such
  remittances (each its own invoices); the median counts. Target: at least 5,000 lines per
  second. One line in ten pays short; one in fifty is not ours (goes to review).
- aged_debt: the aged-debt report (by insurer, and by patient) over 1,000,000 invoices on
  PostgreSQL, three in ten still owing. Target: under 1 second each.

--quick: one remittance of 10,000 lines, and 100,000 invoices. bench.run gives each backend its own temporary,
migrated database (BENCH_TIMEOUT_SECONDS bounds each backend's run; the full run needs more than
the default 900 s). BENCH_PROFILE=1 prints a cProfile of the posting to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import time

from bench import benchmark
from bench import quick as quick_run

LINES = 100_000
QUICK_LINES = 10_000
RUNS = 3  # remittances posted; the median counts
INVOICES = 1_000_000
QUICK_INVOICES = 100_000


def _practice(name: str):
    """A practice with a practitioner, a product, every insurer as a contact, 2,000 insured patients."""
    import datetime as dt

    from openpractice.accounts.models import User
    from openpractice.coding.models import Insurer
    from openpractice.contacts.models import Contact
    from openpractice.patients.models import Patient, PatientRelationship
    from openpractice.practices.models import Membership, Practice
    from openpractice.products.models import Product

    practice = Practice.objects.create(name=name)
    user = User.objects.create_user(email=f"dr@{practice.pk}.bench", password="x" * 20, full_name="Dr Bench")
    doctor = Membership.objects.create(user=user, practice=practice, role="practitioner")
    contacts = [
        Contact.objects.create(practice=practice, contact_type="insurer", name=i.name, insurer=i)
        for i in Insurer.objects.filter(practice__isnull=True).exclude(healthcode_identifier="")[:9]
    ]
    product = Product.objects.create(
        practice=practice,
        product_type="appointment",
        name="Consultation",
        name_key="consultation",
        duration_minutes=30,
        list_price="180.00",
    )
    patients = Patient.objects.bulk_create(
        [
            Patient(
                practice=practice,
                first_name="Pat",
                last_name=f"Bench{i}",
                first_name_key="pat",
                last_name_key=f"bench{i}",
                date_of_birth=dt.date(1970, 1, 1) + dt.timedelta(days=i),
            )
            for i in range(2000)
        ],
        batch_size=1000,
    )
    if patients[0].pk is None:  # SQLite before returning ids
        patients = list(Patient.objects.filter(practice=practice).order_by("pk"))
    PatientRelationship.objects.bulk_create(
        [
            PatientRelationship(
                practice=practice,
                patient=p,
                relationship_type="insurance",
                related_contact=contacts[i % len(contacts)],
                registration_number=f"{10000000 + i}",
                registration_key=f"{10000000 + i}",
            )
            for i, p in enumerate(patients)
        ],
        batch_size=1000,
    )
    return practice, doctor, contacts, product, patients


# -- remittance lines reconciled per second ---------------------------------------------------------
def reconcile(backend: str, lines: int, runs: int) -> list[dict]:
    """`runs` remittances, each against its own `lines` fresh invoices; the median rate (a shared
    machine's run-to-run spread is a quarter either way)."""
    from openpractice.remittances.models import Allocation, LineStatus, RemittanceLine

    practice, doctor, contacts, product, patients = _practice("Remittance bench")
    bupa = next(c for c in contacts if c.insurer.healthcode_identifier == "bup")
    times, allocated, review, size = [], 0, 0, 0
    for run in range(1, runs + 1):
        batch, size = _remittance(run, lines, practice, bupa, doctor, product, patients)
        _settle(backend)
        times.append(_post(batch))
        allocated = RemittanceLine.objects.filter(batch=batch, status=LineStatus.ALLOCATED).count()
        review = RemittanceLine.objects.filter(batch=batch, status=LineStatus.REVIEW).count()
        assert allocated + review == lines
        assert Allocation.objects.filter(remittance_line__batch=batch).count() == allocated
    median = sorted(times)[len(times) // 2]
    rate = lines / median
    each = ", ".join(f"{t:.1f}" for t in times)
    return [
        {
            "name": f"{backend}: remittance lines reconciled ({lines:,} lines)",
            "value": rate,
            "unit": f"lines/s (median of {runs})",
            "target": ">= 5000",
            "ok": rate >= 5000,
            "detail": f"{median:.1f} s (runs: {each} s); each {allocated:,} allocated, {review:,} to review; "
            f"Bundle {size / 1e6:.0f} MB",
        }
    ]


def _remittance(run: int, lines: int, practice, bupa, doctor, product, patients):
    """`lines` issued insurer invoices and one stored (not yet posted) remittance paying them."""
    import datetime as dt
    from decimal import Decimal

    from openpractice.billing.models import Invoice, InvoiceLine
    from openpractice.remittances import services

    today = dt.date.today()
    price = Decimal("180.00")
    invoices = []
    for start in range(0, lines, 10_000):
        chunk = Invoice.objects.bulk_create(
            [
                Invoice(
                    practice=practice,
                    number=f"B{run}{i:08d}",
                    bill_to="insurer",
                    patient=patients[i % len(patients)],
                    insurer_contact=bupa,
                    practitioner=doctor,
                    invoice_date=today,
                    record_status="issued",
                    healthcode_status="collected",
                    net_total=price,
                    total=price,
                )
                for i in range(start, min(lines, start + 10_000))
            ],
            batch_size=2000,
        )
        invoices.extend(chunk)
    if invoices[0].pk is None:  # SQLite before returning ids
        invoices = list(Invoice.objects.filter(practice=practice, number__startswith=f"B{run}").order_by("pk"))
    InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(
                practice=practice,
                invoice=inv,
                sequence=1,
                product=product,
                description="Consultation",
                service_date=today,
                quantity=1,
                unit_price=price,
                net_amount=price,
            )
            for inv in invoices
        ],
        batch_size=2000,
    )
    body = _bundle(invoices, today, run)
    raw = json.dumps(body)
    batch, _ = services.store_batch(practice=practice, source="clearing_house", external_id=body["id"], raw_payload=raw)
    return batch, len(raw)


def _post(batch) -> float:
    from openpractice.remittances import services

    started = time.perf_counter()
    if os.environ.get("BENCH_PROFILE"):  # where the time goes, on stderr
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.runcall(services.post_batch, batch_id=batch.pk)
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    else:
        services.post_batch(batch_id=batch.pk)
    return time.perf_counter() - started


def _settle(backend: str) -> None:
    """The state a remittance meets in a practice: its invoices were issued days before, so they are
    in the planner's statistics, and the setup's garbage is not the posting's to collect."""
    import gc

    from django.db import connection

    gc.collect()
    if backend == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _bundle(invoices, day, run: int = 1) -> dict:
    ns = "https://openpractice.org/fhir/healthcode"
    ext = f"{ns}/StructureDefinition"
    details, responses, total = [], [], 0
    for i, invoice in enumerate(invoices):
        number = invoice.number if i % 50 else f"NOTOURS{run}{i}"  # one in fifty: someone else's bill
        paid = 150 if i % 10 == 0 else 180  # one in ten pays short
        total += paid
        bill = f"HCB{run}{i:08d}"
        details.append(
            {
                "extension": [
                    {"url": f"{ext}/amount-invoiced", "valueMoney": {"value": 180.0}},
                    {"url": f"{ext}/shortfall", "valueMoney": {"value": 180.0 - paid}},
                    {"url": f"{ext}/patient-name", "valueString": "Pat Bench"},
                    {"url": f"{ext}/membership-number", "valueString": "99999999"},
                ],
                "identifier": {"value": bill},
                "request": {"identifier": {"value": number}},
                "amount": {"value": float(paid)},
            }
        )
        adjudication = [
            {"category": {"coding": [{"code": "submitted"}]}, "amount": {"value": 180.0}},
            {"category": {"coding": [{"code": "benefit"}]}, "amount": {"value": float(paid)}},
        ]
        if paid < 180:
            adjudication.append(
                {
                    "category": {"coding": [{"code": "shortfall"}]},
                    "amount": {"value": 30.0},
                    "reason": {"coding": [{"code": "benefit-maximum"}], "text": "Benefit maximum"},
                }
            )
        responses.append(
            {"resourceType": "ClaimResponse", "id": bill, "item": [{"itemSequence": 1, "adjudication": adjudication}]}
        )
    reconciliation = {
        "resourceType": "PaymentReconciliation",
        "id": f"RMTBENCH000{run}",
        "paymentIssuer": {"identifier": {"value": "bup"}},
        "paymentDate": day.isoformat(),
        "paymentAmount": {"value": float(total)},
        "paymentIdentifier": {"value": f"BACS-BUP-00000{run}"},
        "detail": details,
    }
    return {
        "resourceType": "Bundle",
        "id": f"RMTBENCH000{run}",
        "type": "collection",
        "entry": [{"resource": r} for r in [reconciliation, *responses]],
    }


# -- the aged-debt report over 1,000,000 invoices (PostgreSQL) --------------------------------------
def aged_debt(backend: str, count: int) -> list[dict]:
    import datetime as dt

    from django.db import connection

    from openpractice.billing.models import Invoice
    from openpractice.reports.selectors import aged_debt as report

    practice, doctor, contacts, product, patients = _practice("Aged debt bench")
    template = Invoice(
        practice=practice,
        number="X",
        bill_to="insurer",
        patient=patients[0],
        insurer_contact=contacts[0],
        practitioner=doctor,
        invoice_date=dt.date.today(),
        record_status="issued",
    )
    template.created_at = template.updated_at = dt.datetime.now(dt.UTC)
    varying = {
        "id",
        "number",
        "patient_id",
        "insurer_contact_id",
        "bill_to",
        "invoice_date",
        "net_total",
        "total",
        "paid_total",
        "payment_outcome",
    }
    fields = [f for f in Invoice._meta.concrete_fields if f.column not in varying]
    columns = [f.column for f in fields]
    values = [f.get_db_prep_save(getattr(template, f.attname), connection) for f in fields]
    patient_ids = [p.pk for p in patients]
    contact_ids = [c.pk for c in contacts]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # n: 1..count. One in twenty is a patient invoice; three in ten still owe (part-paid or unpaid);
        # invoice dates spread over 200 days so every age bucket fills.
        cursor.execute(
            f"""INSERT INTO billing_invoice ({", ".join(columns)}, number, patient_id, insurer_contact_id, bill_to,
                    invoice_date, net_total, total, paid_total, payment_outcome)
                SELECT {", ".join(["%s"] * len(values))}, 'D' || lpad(n::text, 8, '0'),
                    (%s::bigint[])[1 + n %% %s], CASE WHEN n %% 20 = 9 THEN NULL ELSE (%s::bigint[])[1 + n %% %s] END,
                    CASE WHEN n %% 20 = 9 THEN 'patient' ELSE 'insurer' END,
                    CURRENT_DATE - (n %% 200), 180.00, 180.00,
                    CASE WHEN n %% 10 < 7 THEN 180.00 WHEN n %% 10 = 7 THEN 150.00 ELSE 0.00 END,
                    CASE WHEN n %% 10 < 7 THEN 'paid' WHEN n %% 10 = 7 THEN 'part_paid' ELSE 'unpaid' END
                FROM generate_series(1, %s) AS n""",
            [*values, patient_ids, len(patient_ids), contact_ids, len(contact_ids), count],
        )
        cursor.execute("ANALYZE billing_invoice")
    load = time.perf_counter() - started
    rows = []
    for by in ("insurer", "patient"):
        times = []
        for _ in range(5):
            t = time.perf_counter()
            result = report(practice=practice, by=by)
            times.append(time.perf_counter() - t)
        times.sort()
        median = times[len(times) // 2]
        # Three in ten owe; every patient invoice (n % 20 = 9) is among them.
        expected_owing = count // 20 if by == "patient" else count * 3 // 10 - count // 20
        rows.append(
            {
                "name": f"{backend}: aged debt by {by} ({count:,} invoices)",
                "value": median * 1000,
                "unit": "ms (median of 5)",
                "target": "< 1000",
                "ok": median < 1.0,
                "detail": f"{result.invoices:,} owing invoices in the report (~{expected_owing:,}"
                f" expected), total £{result.total:,}; loaded in {load:.0f} s",
            }
        )
    sql, params = _plan_query(practice).sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = " / ".join(r[0].strip() for r in cursor.fetchall()[:4])
    rows[-1]["detail"] += f"; plan: {plan[:160]}"
    return rows


def _plan_query(practice):
    from django.db.models import Count

    from openpractice.reports.selectors import BillTo, outstanding_invoices

    return (
        outstanding_invoices(practice=practice)
        .filter(bill_to=BillTo.INSURER)
        .values("insurer_contact_id")
        .annotate(n=Count("id"))
        .order_by()
        .query
    )


@benchmark("remittances")
def remittances_entry() -> list[dict]:
    from django.db import connection

    backend = "postgresql" if connection.vendor == "postgresql" else "sqlite"
    rows = reconcile(backend, QUICK_LINES if quick_run() else LINES, 1 if quick_run() else RUNS)
    if backend == "postgresql":  # the target names PostgreSQL
        rows += aged_debt(backend, QUICK_INVOICES if quick_run() else INVOICES)
    for r in rows:  # the table has no room for the detail: stderr (bench.run passes it on) and the JSON keep it
        print(f"  {r['name']}: {r.get('detail', '')}", file=sys.stderr)
    return [
        {
            "metric": r["name"],
            "value": float(r["value"]),
            "unit": r.get("unit", ""),
            "target": r.get("target", ""),
            "detail": r.get("detail", ""),
            **({"ok": r["ok"]} if r.get("ok") is not None else {}),
        }
        for r in rows
    ]
