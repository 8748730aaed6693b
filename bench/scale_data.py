"""The `scale` benchmark's world: one practice with a bureau's history, in its own PostgreSQL
database (`bench_scale`), built once and kept while the schema stays the same.

    python -m bench.scale_data [--rebuild] [--invoices N] [--patients N] [--codes N]

The practice is the demo practice's set-up (`seed_demo --no-history`: its users, practitioners,
insurers, products and contract prices; password `DEMO_PASSWORD`), then, written with COPY:
200,000 patients (three in four insured with one of the four insurers), 100,000 of the practice's
own procedure codes (through the code-set import), and 1,000,000 invoices over six years, more in
recent years: one in seven a patient's own bill, drafts in the last days, a few void; insurer
bills in the statuses Healthcode moves them through by age (not yet sent in the last fortnight,
collected when older, a few awaiting correction); paid, part-paid (shortfalls), written off or
still owing, with a payment row for every amount received, so aged debt has every bucket filled.
Every row is built from invoices the billing services made (one per insurer and product), so the
pre-submission check passes except where a bill is made to fail it (no diagnosis, one in twelve
of those that could be sent).

A marker table (`bench_scale_marker`) keeps the latest migration of every app, the sizes and the
builder's version: with newer migrations alone the database is migrated forward (as a deployment
would be); it is built again when the sizes or the builder changed (or with --rebuild). After either, the stored
pre-submission checks are refreshed (`manage.py recheck_bills`, where the app has it) and ANALYZE
runs. `build(sizes)` is the builder alone, for tests (tests/bench/test_scale_data.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
import json
import os
import random
import sys
import time
from decimal import Decimal

DATABASE = "bench_scale"
MARKER_TABLE = "bench_scale_marker"
BUILDER = 3  # raise when the rows the builder writes change shape: the next run builds again
CHUNK = 20_000  # invoices generated and copied at a time
YEARS = 6


@dataclasses.dataclass(frozen=True)
class Sizes:
    invoices: int = 1_000_000
    patients: int = 200_000
    codes: int = 100_000


# Common surnames first (weights fall off like a real register), then invented ones for the long tail.
SURNAMES = (
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright "
    "Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill "
    "Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker "
    "Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy "
    "Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman "
    "Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight "
    "Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher "
    "Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks "
    "West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton Obrien Watts Rose Booth Perry Ryan"
).split()
FIRST_NAMES = (
    "Oliver George Harry Jack Jacob Noah Charlie Thomas Oscar William James Leo Alfie Henry Joshua Freddie "
    "Archie Ethan Isaac Alexander Joseph Edward Samuel Max Daniel Arthur Lucas Mohammed Logan Theo Olivia "
    "Amelia Isla Ava Emily Sophia Grace Mia Poppy Ella Lily Evie Isabella Sophie Ivy Freya Harper Willow "
    "Charlotte Jessica Rosie Daisy Alice Florence Phoebe Sienna Ruby Matilda Evelyn Sarah Margaret Susan "
    "Helen Patricia Elizabeth Janet Christine Anne David John Peter Michael Paul Robert Richard Stephen"
).split()
SYLLABLES = "ash bar bel bro car dal den dor far gar ham har kin lan ley mar mor nor pen ridge ton vel wick".split()
TOWNS = ["London", "Manchester", "Birmingham", "Leeds", "Bristol", "Guildford", "Reading", "St Albans", "Brighton"]
# Registration numbers in each demo insurer's own shape (as the sandbox's members: seed_demo.DEMO_PATIENTS).
REGISTRATION = {
    "bup": lambda n: f"{20000000 + n}",
    "ppp": lambda n: f"AX{1000000 + n:07d}B",
    "nuh": lambda n: f"{200000000 + n}",
    "slh": lambda n: f"{50000000 + n}",
}
INSURER_SHARE = {"bup": 0.4, "ppp": 0.25, "nuh": 0.2, "slh": 0.15}
PRODUCT_SHARE = {
    "Initial consultation": 0.33,
    "Follow-up consultation": 0.33,
    "Electrocardiogram (ECG)": 0.16,
    "Knee arthroscopy": 0.1,
    "Epley manoeuvre": 0.08,
}
EXTRA_LINE = ("Follow-up consultation", "Electrocardiogram (ECG)")  # second and third lines of a bill
PRACTITIONERS = (
    "dr.patel@demo.openpractice.test",
    "dr.sample@demo.openpractice.test",
    "carys.demo@demo.openpractice.test",
)
DIAGNOSES = ["M17.1", "M23.2", "I10", "I48.9", "H81.1", "H25.9", "M54.5", "R07.4"]


def _weighted(rng: random.Random, shares: dict):
    pick, total = rng.random(), 0.0
    for key, share in shares.items():
        total += share
        if pick < total:
            return key
    return key


# -- the whole world -----------------------------------------------------------------------------
def build(sizes: Sizes, *, seed: int = 2026, out=sys.stderr) -> dict:
    """Fill the (migrated, empty) database Django is connected to; returns counts and seconds."""
    from django.core.management import call_command
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        raise RuntimeError("The scale world is built on PostgreSQL (COPY).")
    rng = random.Random(seed)
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def step(name: str, since: float) -> float:
        timings[name] = round(time.perf_counter() - since, 1)
        print(f"  scale data: {name} in {timings[name]:.1f} s", file=out, flush=True)
        return time.perf_counter()

    call_command("seed_demo", "--quiet-if-exists", "--no-history", stdout=open(os.devnull, "w"))
    world = _World.load()
    t = step("demo set-up", started)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The rows are consistent by construction: no per-row foreign-key triggers (superuser only).
            cursor.execute("SET LOCAL session_replication_role = replica")
        insured = _patients(world, sizes.patients, rng)
        t = step(f"{sizes.patients:,} patients", t)
        templates = _templates(world, insured)
        counts = _invoices(world, sizes.invoices, insured, templates, rng)
        t = step(f"{sizes.invoices:,} invoices", t)
    _codes(world, sizes.codes)
    t = step(f"{sizes.codes:,} codes", t)
    return {**counts, "patients": sizes.patients, "codes": sizes.codes, "seconds": timings}


@dataclasses.dataclass
class _World:
    practice: object
    contacts: dict  # healthcode identifier -> insurer Contact
    products: dict  # name -> Product
    practitioners: list  # Membership
    biller: object  # User

    @classmethod
    def load(cls) -> _World:
        from openpractice.accounts.models import User
        from openpractice.contacts.models import Contact
        from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE
        from openpractice.practices.models import Membership, Practice
        from openpractice.products.models import Product

        practice = Practice.objects.get(name=DEMO_PRACTICE)
        contacts = {
            c.insurer.healthcode_identifier: c
            for c in Contact.objects.filter(practice=practice, contact_type="insurer").select_related("insurer")
        }
        return cls(
            practice=practice,
            contacts=contacts,
            products={p.name: p for p in Product.objects.filter(practice=practice)},
            practitioners=[Membership.objects.get(practice=practice, user__email=email) for email in PRACTITIONERS],
            biller=User.objects.get(email="billing@demo.openpractice.test"),
        )


def _next_ids(table: str, count: int) -> int:
    """The first of `count` ids taken from the table's own sequence (it is moved past them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cursor.fetchone()[0]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        first = cursor.fetchone()[0] + 1
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + count])
    return first


def model_defaults(model, **given) -> tuple[list[str], dict[str, object]]:
    """Every column of a model with the value an unsaved instance holds (as COPY text takes it)."""
    now = dt.datetime.now(dt.UTC)
    instance = model(**given)
    values: dict[str, object] = {}
    for field in model._meta.concrete_fields:
        if field.column == "id":
            continue
        value = getattr(instance, field.attname)
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        if field.get_internal_type() == "JSONField":
            value = json.dumps(value)
        values[field.column] = value
    return list(values), values


def _copy(table: str, columns: list[str], rows) -> None:
    from openpractice.db.bulk import insert_rows

    insert_rows(table, tuple(columns), rows)


# -- patients ------------------------------------------------------------------------------------
# A register's shape: the common names hold about three in ten people (Smith about one in forty-five),
# the rest is a long tail of rarer names.
_SURNAME_WEIGHTS = list(itertools.accumulate(1 / (rank + 1) ** 0.7 for rank in range(len(SURNAMES))))


def _surname(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choices(SURNAMES, cum_weights=_SURNAME_WEIGHTS)[0]
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3)))).title()


def _patients(world: _World, count: int, rng: random.Random) -> list[tuple[int, int, int]]:
    """`count` patients; returns (patient id, relationship id, contact id) of the insured ones."""
    from openpractice.patients import keys
    from openpractice.patients.models import Patient, PatientRelationship

    first = _next_ids("patients_patient", count)
    columns, template = model_defaults(Patient, practice=world.practice)
    rows = []
    people = []
    for n in range(count):
        sex = "female" if rng.random() < 0.55 else "male"
        first_name, last_name = rng.choice(FIRST_NAMES), _surname(rng)
        phone = f"07700 {900000 + n % 100000:06d}"
        email = f"{first_name.lower()}.{last_name.lower()}{n}@example.com"
        row = {
            **template,
            "id": first + n,
            "title": "Ms" if sex == "female" else "Mr",
            "first_name": first_name,
            "last_name": last_name,
            "date_of_birth": dt.date(1935, 1, 1) + dt.timedelta(days=rng.randrange(31_000)),
            "sex": sex,
            "email": email,
            "phone": phone,
            "address_line1": f"{1 + n % 200} {rng.choice(SYLLABLES).title()} Road",
            "city": rng.choice(TOWNS),
            "postcode": f"W{1 + n % 14} {n % 10}AB",
            "is_archived": n % 100 == 99,
            "last_name_key": keys.name_key(last_name),
            "first_name_key": keys.name_key(first_name),
            "phone_key": keys.phone_key(phone),
            "email_key": keys.email_key(email),
        }
        rows.append(tuple(row[c] for c in ["id", *columns]))
        people.append(first + n)
    _copy("patients_patient", ["id", *columns], rows)

    insured_people = [p for p in people if rng.random() < 0.75]
    first_relationship = _next_ids("patients_patientrelationship", len(insured_people))
    columns, template = model_defaults(
        PatientRelationship, practice=world.practice, relationship_type="insurance", registration_number="x"
    )
    rows, insured = [], []
    for n, patient_id in enumerate(insured_people):
        identifier = _weighted(rng, INSURER_SHARE)
        number = REGISTRATION[identifier](n)
        contact_id = world.contacts[identifier].pk
        row = {
            **template,
            "id": first_relationship + n,
            "patient_id": patient_id,
            "related_contact_id": contact_id,
            "registration_number": number,
            "registration_key": number.upper(),
        }
        rows.append(tuple(row[c] for c in ["id", *columns]))
        insured.append((patient_id, first_relationship + n, contact_id))
    _copy("patients_patientrelationship", ["id", *columns], rows)
    return insured


# -- invoices ------------------------------------------------------------------------------------
@dataclasses.dataclass
class _Template:
    header: dict  # column -> value, of a real invoice the services made
    line: dict  # column -> value, of its line


def _templates(world: _World, insured) -> dict:
    """(insurer identifier or "patient", product name) -> a real invoice and line the billing
    services made and priced (contract prices, codes, settings), whose values the rows copy."""
    from django.db import connection

    from openpractice.billing import services
    from openpractice.billing.models import Invoice, InvoiceLine
    from openpractice.patients.models import Patient, PatientRelationship

    by_contact = {contact.pk: identifier for identifier, contact in world.contacts.items()}
    sample = {}
    for patient_id, relationship_id, contact_id in insured:
        sample.setdefault(by_contact[contact_id], (patient_id, relationship_id))
        if len(sample) == len(world.contacts):
            break
    today = dt.date.today()
    made = {}
    for identifier in [*sample, "patient"]:
        patient_id, relationship_id = sample.get(identifier) or next(iter(sample.values()))
        for name, product in world.products.items():
            stay = product.product_type == "procedure" and name == "Knee arthroscopy"
            invoice = services.create_invoice(
                practice=world.practice,
                data={
                    "bill_to": "patient" if identifier == "patient" else "insurer",
                    "patient": Patient.objects.get(pk=patient_id),
                    "insurance": None
                    if identifier == "patient"
                    else PatientRelationship.objects.get(pk=relationship_id),
                    "practitioner": world.practitioners[0],
                    "invoice_date": today,
                    "primary_diagnosis": "M17.1",
                    "service_setting": "daycase" if stay else "outpatient",
                    **({"admission_date": today, "discharge_date": today} if stay else {}),
                },
                lines=[{"product": product, "service_date": today, "quantity": 1}],
                created_by=world.biller,
            )
            line = InvoiceLine.objects.get(invoice=invoice)
            made[(identifier, name)] = _Template(header=_columns(invoice, connection), line=_columns(line, connection))
            Invoice.history.filter(id=invoice.pk).delete()
            line.delete()
            invoice.delete()
    return made


def _columns(instance, connection) -> dict:
    values = {}
    for field in instance._meta.concrete_fields:
        value = getattr(instance, field.attname)
        if field.get_internal_type() == "JSONField":
            value = json.dumps(value)
        values[field.column] = value
    return values


def _healthcode_status(age: int, rng: random.Random) -> str:
    pick = rng.random()
    if age <= 14:
        table = [("not_submitted", 0.7), ("queued", 0.02), ("unprocessed", 0.08), ("in_process", 0.08),
                 ("validated", 0.06), ("awaiting_collection", 0.04), ("failed", 0.02)]  # fmt: skip
    elif age <= 60:
        table = [("awaiting_collection", 0.3), ("collected", 0.62), ("failed", 0.03), ("validated", 0.03),
                 ("in_process", 0.02)]  # fmt: skip
    else:
        table = [("collected", 0.975), ("cancelled", 0.01), ("failed", 0.003), ("not_found", 0.002),
                 ("not_required", 0.01)]  # fmt: skip
    total = 0.0
    for status, share in table:
        total += share
        if pick < total:
            return status
    return table[0][0]


def _outcome(*, insurer: bool, status: str, age: int, rng: random.Random) -> str:
    """Settled as a practice settles: insurers pay collected bills (a few short or never); a bill
    the clearing house closed otherwise is paid another way; patients pay within weeks. Debt older
    than a year is mostly written off, so the owing rows are a few months' billing and a tail."""
    pick = rng.random()
    if insurer:
        if status in ("collected", "cancelled", "not_required", "not_found") and age > 30:
            outcome = (
                "paid" if pick < 0.88 else "part_paid" if pick < 0.95 else "written_off" if pick < 0.97 else "unpaid"
            )
        else:
            outcome = "unpaid"
    elif age > 60:
        outcome = "paid" if pick < 0.93 else "unpaid" if pick < 0.97 else "part_paid" if pick < 0.99 else "written_off"
    else:
        outcome = "paid" if pick < 0.6 else "unpaid" if pick < 0.95 else "part_paid"
    if outcome in ("unpaid", "part_paid") and age > 365 and rng.random() < 0.85:
        return "written_off_rest" if outcome == "part_paid" else "written_off"
    return outcome


def _invoices(world: _World, count: int, insured, templates: dict, rng: random.Random) -> dict:
    from openpractice.billing.models import Invoice, InvoiceLine, NumberSequence, Payment
    from openpractice.patients.models import Patient

    today = dt.date.today()
    span = YEARS * 365
    start = today - dt.timedelta(days=span)
    patient_ids = list(Patient.objects.filter(practice=world.practice).values_list("pk", flat=True))
    invoice_columns = [f.column for f in Invoice._meta.concrete_fields]
    line_columns = [f.column for f in InvoiceLine._meta.concrete_fields]
    pay_columns, pay_template = model_defaults(
        Payment, practice=world.practice, amount=Decimal("1"), received_on=today, recorded_by=world.biller
    )
    pay_columns = ["id", *pay_columns]
    first_invoice = _next_ids("billing_invoice", count)
    first_line = _next_ids("billing_invoiceline", count * 3)
    first_payment = _next_ids("billing_payment", count)
    line_id, payment_id, number = first_line, first_payment, 0
    identifiers = {contact.pk: identifier for identifier, contact in world.contacts.items()}
    diagnoses = _diagnoses()
    counts = {"invoices": 0, "lines": 0, "payments": 0, "owing": 0, "not_ready_made": 0}
    now = dt.datetime.now(dt.UTC)
    for chunk_start in range(0, count, CHUNK):
        invoices, lines, payments = [], [], []
        for n in range(chunk_start, min(count, chunk_start + CHUNK)):
            # dates rise with the ids, denser in recent years (a growing practice)
            day = start + dt.timedelta(days=min(span, int(span * ((n + 0.5) / count) ** 0.75)))
            age = (today - day).days
            patient_id, relationship_id, contact_id = insured[rng.randrange(len(insured))]
            insurer = rng.random() < 0.86
            if not insurer:
                patient_id, relationship_id, contact_id = rng.choice(patient_ids), None, None
            identifier = identifiers[contact_id] if insurer else "patient"
            names = [_weighted(rng, PRODUCT_SHARE)]
            extra = rng.random()
            if extra < 0.25:
                names.append(EXTRA_LINE[0] if extra < 0.2 else EXTRA_LINE[1])
            if extra < 0.05:
                names.append(EXTRA_LINE[1])
            header = dict(templates[(identifier, names[0])].header)
            record = "draft" if age <= 3 and rng.random() < 0.15 else "void" if rng.random() < 0.01 else "issued"
            status = _healthcode_status(age, rng) if insurer and record == "issued" else "not_submitted"
            if record == "void" and insurer and rng.random() < 0.5:
                status = "cancelled"
            outcome = _outcome(insurer=insurer, status=status, age=age, rng=rng) if record == "issued" else "unpaid"
            net = Decimal("0.00")
            for sequence, name in enumerate(names, start=1):
                line = dict(templates[(identifier, name)].line)
                line.update(id=line_id, invoice_id=first_invoice + n, sequence=sequence, service_date=day)
                net += line["net_amount"]
                lines.append(tuple(line[c] for c in line_columns))
                line_id += 1
            paid = written_off = Decimal("0.00")
            if outcome == "paid":
                paid = net
            elif outcome == "part_paid":  # the insurer's shortfall, or a patient's instalment
                paid = (net * Decimal("0.8")).quantize(Decimal("0.01"))
            elif outcome == "written_off":
                written_off = net
            elif outcome == "written_off_rest":  # a part payment, the rest written off
                paid = (net * Decimal("0.8")).quantize(Decimal("0.01"))
                written_off, outcome = net - paid, "written_off"
            if paid:
                received = min(today, day + dt.timedelta(days=rng.randint(5, 45)))
                payment = {
                    **pay_template,
                    "id": payment_id,
                    "invoice_id": first_invoice + n,
                    "amount": paid,
                    "received_on": received,
                    "method": "insurer" if insurer else rng.choice(["card", "bacs", "cheque"]),
                    "reference": f"RA{payment_id}" if insurer else "",
                }
                payments.append(tuple(payment[c] for c in pay_columns))
                payment_id += 1
            if record != "draft":
                number += 1
            diagnosis = rng.choice(diagnoses)
            if insurer and status in ("not_submitted", "failed") and record != "void" and rng.random() < 1 / 12:
                diagnosis = ""  # the pre-submission check refuses it: the "Not ready to submit" view has rows
                counts["not_ready_made"] += 1
            when = dt.datetime.combine(day, dt.time(9 + n % 8, n % 60), tzinfo=dt.UTC)
            header.update(
                id=first_invoice + n,
                number="" if record == "draft" else f"INV{number:07d}",
                patient_id=patient_id,
                insurance_id=relationship_id,
                insurer_contact_id=contact_id,
                practitioner_id=world.practitioners[n % len(world.practitioners)].pk,
                invoice_date=day,
                due_date=day + dt.timedelta(days=30),
                record_status=record,
                healthcode_status=status,
                payment_outcome=outcome,
                primary_diagnosis=diagnosis,
                net_total=net,
                vat_total=Decimal("0.00"),
                total=net,
                paid_total=paid,
                written_off_total=written_off,
                credited_total=Decimal("0.00"),
                issued_at=None if record == "draft" else when,
                voided_at=when if record == "void" else None,
                void_reason="Raised in error" if record == "void" else "",
                created_at=when,
                updated_at=now if age <= 60 else when,
            )
            if header["admission_date"] is not None:
                header.update(admission_date=day, discharge_date=day)
            invoices.append(tuple(header[c] for c in invoice_columns))
            if record == "issued" and paid + written_off < net:
                counts["owing"] += 1
        _copy("billing_invoice", invoice_columns, invoices)
        _copy("billing_invoiceline", line_columns, lines)
        _copy("billing_payment", pay_columns, payments)
        counts["invoices"] += len(invoices)
        counts["lines"] += len(lines)
        counts["payments"] += len(payments)
    NumberSequence.objects.update_or_create(
        practice=world.practice, kind="invoice", defaults={"prefix": "INV", "next_value": number + 1}
    )
    return counts


def _diagnoses() -> list[str]:
    """The ICD-10 codes of DIAGNOSES this database knows (the check refuses an unknown one)."""
    from openpractice.coding.models import Code

    known = list(Code.objects.filter(system="icd10", code__in=DIAGNOSES).values_list("code", flat=True))
    return sorted(known) or ["M17.1"]


# -- codes ---------------------------------------------------------------------------------------
def _codes(world: _World, count: int) -> None:
    """The practice's own procedure codes, through the code-set import (its COPY path)."""
    from bench.coding import make_csv
    from openpractice.coding.importing import CsvCodeSource
    from openpractice.coding.models import Code
    from openpractice.coding.services import import_code_set
    from openpractice.home.management.commands.seed_demo import DEMO_CCSD

    # A practice's own schedule replaces the public samples for it: the codes its products bill keep
    # their place in it, so bills stay valid; the rest is invented (bench.coding.make_csv).
    samples = list(Code.objects.filter(practice__isnull=True, system="ccsd", code__in=DEMO_CCSD))
    content, _, _ = make_csv(rows=count, seed=7)
    lines = content.decode().splitlines()
    taken = {code.code_key for code in samples}
    invented = [line for line in lines[1:] if line.split(",", 1)[0] not in taken][: max(0, count - len(samples))]
    mine = [f"{code.code},{code.description.replace(',', ' ')},2015-01-01" for code in samples][:count]
    content = "\n".join([lines[0], *mine, *invented, ""]).encode()
    outcome = import_code_set(practice=world.practice, kind="codes", system="ccsd", source=CsvCodeSource(content))
    assert outcome.added == count, outcome


# -- the database, kept while the schema is the same ---------------------------------------------
def base_url() -> str:
    return os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def database_url(name: str = DATABASE) -> str:
    return base_url().rsplit("/", 1)[0] + "/" + name


def fingerprint(sizes: Sizes) -> dict:
    """The latest migration of every app (from the files) and the sizes: what the data was built for."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    leaves = sorted(f"{app}.{name}" for app, name in loader.graph.leaf_nodes())
    return {"migrations": leaves, "sizes": dataclasses.asdict(sizes), "builder": BUILDER}


def _marker(name: str) -> dict | None:
    import psycopg

    try:
        with psycopg.connect(database_url(name), connect_timeout=3) as conn:
            row = conn.execute(f"SELECT fingerprint FROM {MARKER_TABLE} LIMIT 1").fetchone()
    except psycopg.Error:
        return None
    return json.loads(row[0]) if row else None


def ensure(sizes: Sizes, *, name: str = DATABASE, rebuild: bool = False, out=sys.stderr) -> dict:
    """The database `name` holding the scale world for `sizes` and today's schema: built unless it
    already is. Django must be set up with DATABASE_URL = database_url(name)."""
    import psycopg
    from django.core.management import call_command
    from django.db import connections

    wanted = fingerprint(sizes)
    found = _marker(name)
    if found is not None:
        found.setdefault("builder", 1)
    if not rebuild and found == wanted:
        print(f"  scale data: {name} is up to date ({sizes.invoices:,} invoices)", file=out)
        return {"built": False}
    if (
        not rebuild
        and found
        and {k: v for k, v in found.items() if k != "migrations"}
        == {k: v for k, v in wanted.items() if k != "migrations"}
    ):
        # Same data, newer code: migrate forward as a deployment would, far quicker than building again.
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"  scale data: {name} migrated forward in {time.perf_counter() - started:.0f} s", file=out, flush=True)
        result = {"built": False, "migrated_forward": sorted(set(wanted["migrations"]) - set(found["migrations"]))}
        result["seconds"] = {"migrate": round(time.perf_counter() - started, 1)}
        _settle(result, wanted, out)
        return result
    if name == "test":
        raise RuntimeError("The database named test is not for the scale world.")
    connections.close_all()
    with psycopg.connect(base_url(), autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    print(f"  scale data: migrated in {time.perf_counter() - started:.0f} s", file=out, flush=True)
    result = build(sizes, out=out)
    _settle(result, wanted, out)
    result["built"] = True
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    print(f"  scale data: built in {result['total_seconds']:.0f} s: {result}", file=out, flush=True)
    return result


def _settle(result: dict, wanted: dict, out) -> None:
    """The stored pre-submission checks refreshed (where the app keeps them), statistics and the
    visibility map up to date, and the marker written."""
    from django.core.management import call_command, get_commands
    from django.db import connection

    if "recheck_bills" in get_commands():
        started = time.perf_counter()
        call_command("recheck_bills", stdout=out)
        result["seconds"]["recheck_bills"] = round(time.perf_counter() - started, 1)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # index-only scans as in a settled database
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (fingerprint text NOT NULL, built_at timestamptz)")
        cursor.execute(f"DELETE FROM {MARKER_TABLE}")
        cursor.execute(f"INSERT INTO {MARKER_TABLE} VALUES (%s, now())", [json.dumps(wanted)])


def setup_django(name: str = DATABASE) -> None:
    """Point Django at the scale database (before it starts) and start it."""
    os.environ["DATABASE_URL"] = database_url(name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openpractice.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_data", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="build again even when the marker matches")
    parser.add_argument("--invoices", type=int, default=Sizes.invoices)
    parser.add_argument("--patients", type=int, default=Sizes.patients)
    parser.add_argument("--codes", type=int, default=Sizes.codes)
    parser.add_argument("--database", default=DATABASE)
    args = parser.parse_args(argv)
    setup_django(args.database)
    ensure(Sizes(args.invoices, args.patients, args.codes), name=args.database, rebuild=args.rebuild)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
