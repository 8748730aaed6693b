"""The `receivables` benchmark (bench/receivables.py) runs at a tiny size and its figures hold:
the data it builds is what the chase decides over, and every row has a number."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.django_db
def test_the_bench_runs_tiny():
    from bench.receivables import run
    from openpractice.billing.models import Invoice
    from openpractice.receivables.models import ChaseRun

    rows = run(debts=200, statement_count=3, backend=connection.vendor)
    metrics = {r["metric"]: r for r in rows}
    assert Invoice.objects.filter(bill_to="patient").count() == 200
    run_items = ChaseRun.objects.get().items.count()
    assert 0 < run_items < 200  # some chased already today's stage, some held, some not yet due
    assert all(isinstance(r["value"], float) and r["value"] >= 0 for r in rows)
    assert metrics["3 statement PDFs, one by one"]["ok"] is True
    assert any("maxrss" in m for m in metrics)
