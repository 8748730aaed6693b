"""The consultant reports benchmark (bench/consultant_reports.py), run tiny: its world builds with
COPY-written rows that agree with each other, and every practice's report is made with the same
number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum

pytestmark = pytest.mark.django_db


def test_the_tiny_bench_makes_every_report_with_the_same_queries():
    from bench.consultant_reports import run
    from openpractice.billing.models import Invoice, Payment
    from openpractice.remittances.models import Allocation
    from openpractice.reports.consultant_models import ConsultantReport

    rows = run(invoices=60, practices=3)
    assert rows[1]["ok"] and rows[0]["value"] > 0
    assert Invoice.objects.count() == 180 and ConsultantReport.objects.count() == 3
    for report in ConsultantReport.objects.all():
        paid = Invoice.objects.filter(practice=report.practice).aggregate(s=Sum("paid_total"))["s"]
        settled = (Payment.objects.filter(practice=report.practice).aggregate(s=Sum("amount"))["s"] or 0) + (
            Allocation.objects.filter(practice=report.practice).aggregate(s=Sum("amount"))["s"] or 0
        )
        assert paid == settled  # the rows written with COPY agree with the invoices' totals
        assert report.month < dt.date.today().replace(day=1)
