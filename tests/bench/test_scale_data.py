"""The `scale` benchmark's world (bench/scale_data.py), built tiny: its rows agree with each other, the
pre-submission check passes except where a bill is made to fail it, and every page the benchmark
times answers 200 on it."""

from __future__ import annotations

import os

import pytest
from django.db import connection
from django.db.models import Count, F, Sum

SIZES = dict(invoices=1500, patients=150, codes=60)  # enough for a fortnight of bills not yet sent


@pytest.fixture
def world(db):
    if connection.vendor != "postgresql":
        pytest.skip("the scale world is PostgreSQL's (COPY, session_replication_role): run with DATABASE_URL")
    from django.core.management import call_command, get_commands

    from bench.scale_data import Sizes, build

    built = build(Sizes(**SIZES), out=open(os.devnull, "w"))
    if "recheck_bills" in get_commands():  # as bench.scale_data.ensure: the stored checks filled
        call_command("recheck_bills", stdout=open(os.devnull, "w"))
    return built


@pytest.mark.django_db
def test_the_tiny_world_has_the_sizes_asked_for_and_consistent_rows(world):
    from openpractice.billing.models import Invoice, InvoiceLine, NumberSequence, Payment
    from openpractice.coding.models import Code
    from openpractice.patients.models import Patient, PatientRelationship
    from openpractice.practices.models import Practice

    practice = Practice.objects.get()
    assert world["invoices"] == SIZES["invoices"]
    # the demo practice's own six patients and the invoices its services never kept
    assert Patient.objects.filter(practice=practice).count() == SIZES["patients"] + 6
    assert Invoice.objects.filter(practice=practice).count() == SIZES["invoices"]
    assert Code.objects.filter(practice=practice, system="ccsd").count() == SIZES["codes"]
    assert InvoiceLine.objects.count() == world["lines"] >= SIZES["invoices"]
    assert Payment.objects.count() == world["payments"] > 0

    # totals are the sum of the lines; paid totals the sum of the payments
    mismatched = Invoice.objects.annotate(lines_net=Sum("lines__net_amount")).exclude(net_total=F("lines_net")).count()
    assert mismatched == 0
    paid = Invoice.objects.filter(paid_total__gt=0).annotate(received=Sum("payments__amount"))
    assert all(invoice.received == invoice.paid_total for invoice in paid)
    assert not Invoice.objects.filter(total__lt=F("paid_total") + F("written_off_total")).exists()

    # an insurer bill names its patient's own insurance; a patient's bill names none
    insurer_bills = Invoice.objects.filter(bill_to="insurer")
    assert insurer_bills.exists() and Invoice.objects.filter(bill_to="patient").exists()
    assert not insurer_bills.exclude(insurance__patient=F("patient")).exists()
    assert not insurer_bills.exclude(insurance__related_contact=F("insurer_contact")).exists()
    assert not Invoice.objects.filter(bill_to="patient", insurer_contact__isnull=False).exists()
    assert PatientRelationship.objects.filter(relationship_type="insurance").count() > SIZES["patients"] // 2

    # numbers: one per invoice that is not a draft, unique, and the sequence continues after them
    numbered = Invoice.objects.exclude(number="")
    assert numbered.count() == Invoice.objects.exclude(record_status="draft").count()
    assert numbered.values("number").annotate(n=Count("id")).filter(n__gt=1).count() == 0
    sequence = NumberSequence.objects.get(practice=practice, kind="invoice")
    assert sequence.next_value == numbered.count() + 1

    # history that ages: owing invoices, and some of them older than 90 days
    owing = Invoice.objects.filter(record_status="issued").exclude(
        total=F("paid_total") + F("credited_total") + F("written_off_total")
    )
    assert owing.count() == world["owing"] > 0
    dates = Invoice.objects.order_by("invoice_date").values_list("invoice_date", flat=True)
    assert (dates.last() - dates.first()).days > 5 * 365

    # bills that could go to Healthcode pass the pre-submission check unless made to fail it
    from openpractice.healthcode import selectors
    from openpractice.healthcode.checking import check_invoices

    candidates = selectors.not_ready_candidates(practice=practice)
    results = check_invoices(practice=practice, queryset=candidates)
    recent = {invoice.pk for invoice in candidates if invoice.healthcode_status == "not_submitted"}
    failing_recent = {pk for pk in recent if not results[pk].passed}
    made_to_fail = set(candidates.filter(primary_diagnosis="").values_list("pk", flat=True))
    assert recent
    assert failing_recent <= made_to_fail  # nothing else keeps a fresh bill back


@pytest.mark.django_db
def test_every_page_the_benchmark_times_answers_on_the_tiny_world(world, client):
    from bench.scale import pages, targets
    from openpractice.accounts.models import User

    client.force_login(User.objects.get(email="billing@demo.openpractice.test"))
    found = targets()
    for page in pages(found):
        response = client.get(page.url)
        assert response.status_code == 200, (page.name, page.url, response.status_code)
        assert len(response.content) > 200, page.name


def test_the_marker_names_every_apps_latest_migration_the_sizes_and_the_builder():
    """What decides whether the kept database is current: it must change when a migration is added."""
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    from bench.scale_data import BUILDER, Sizes, fingerprint

    found = fingerprint(Sizes(invoices=10, patients=5, codes=2))
    assert found["sizes"] == {"invoices": 10, "patients": 5, "codes": 2}
    assert found["builder"] == BUILDER
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    for app in ("billing", "healthcode", "patients", "coding"):
        assert apps.is_installed(f"openpractice.{app}")
        latest = max(name for label, name in graph.leaf_nodes() if label == app)
        assert f"{app}.{latest}" in found["migrations"]
