"""seed_demo's year of work (home/demo_history.py): a practice in every state, made through the
services, the same each time, loaded once."""

from __future__ import annotations

import time

from django.core.management import call_command
from django.db.models import Count

from openpractice.billing.models import Invoice
from openpractice.env import browse_url
from openpractice.healthcode.models import Submission
from openpractice.home import selectors
from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE
from openpractice.practices.models import Practice
from openpractice.remittances.models import Allocation, RemittanceBatch, RemittanceLine


def _shape(practice) -> dict:
    invoices = Invoice.objects.filter(practice=practice)
    return {
        "states": {
            (to, record, hc): n
            for to, record, hc, n in invoices.values_list("bill_to", "record_status", "healthcode_status")
            .annotate(n=Count("id"))
            .order_by()
        },
        "outcomes": dict(invoices.values_list("payment_outcome").annotate(n=Count("id")).order_by()),
        "lines": dict(RemittanceLine.objects.values_list("status").annotate(n=Count("id")).order_by()),
        "ledger": dict(Allocation.objects.values_list("kind").annotate(n=Count("id")).order_by()),
    }


def test_a_year_of_work_in_every_state_loaded_once(db, capsys):
    started = time.monotonic()
    call_command("seed_demo", "--history")
    took = time.monotonic() - started
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    shape = _shape(practice)
    states = {(to, record, hc) for (to, record, hc), n in shape["states"].items() if n}
    for wanted in [
        ("insurer", "draft", "not_submitted"),
        ("insurer", "issued", "collected"),
        ("insurer", "issued", "failed"),
        ("insurer", "void", "cancelled"),
        ("patient", "issued", "not_submitted"),
    ]:
        assert wanted in states, (wanted, states)
    assert any(hc in ("validated", "awaiting_collection", "unprocessed") for _, _, hc in states)
    assert 250 <= sum(shape["states"].values()) <= 600
    assert {"paid", "part_paid", "unpaid", "written_off"} <= set(shape["outcomes"])
    assert shape["lines"]["allocated"] > 100 and shape["lines"].get("review", 0) >= 1
    assert shape["ledger"]["shortfall_transfer"] > 5
    lines = RemittanceLine.objects.filter(practice=practice)
    assert lines.filter(amount_paid=0).exists() and lines.filter(amount_paid__gt=0, shortfall__gt=0).exists()
    # Every bill at Healthcode went through the healthcode services: a submission and its events.
    sent = Invoice.objects.filter(practice=practice).exclude(healthcode_status="not_submitted")
    assert not sent.exclude(pk__in=Submission.objects.values("invoice_id")).exists()
    assert Submission.objects.filter(version=2).exists()  # a failed bill corrected and sent again
    # Dates spread over the year: every band of insurer debt has something in it.
    work = selectors.day_of_work(practice=practice, scope=selectors.Scope(can_bill=True))
    assert all(band.count for band in work.owed[0].bands), [(b.label, b.count) for b in work.owed[0].bands]
    assert work.old_debt and work.failed.count and work.not_ready.count and work.shortfalls.count
    out = capsys.readouterr().out
    assert "Log in at http://127.0.0.1:8000" in out and "billing@demo.openpractice.test" in out

    batches = RemittanceBatch.objects.count()
    call_command("seed_demo", "--history", "--quiet-if-exists")  # once: nothing more
    assert _shape(practice) == shape and RemittanceBatch.objects.count() == batches
    assert capsys.readouterr().out == ""
    with capsys.disabled():
        print(f"\nseed_demo --history took {took:.0f} s here")  # noqa: T201  (shown with -s: the load's cost)


def test_the_address_printed_follows_openpractice_host_and_port(db, capsys, settings):
    assert browse_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert browse_url("0.0.0.0", 8731) == "http://127.0.0.1:8731"  # every interface: open it here
    assert browse_url("::1", 9000) == "http://[::1]:9000"
    assert browse_url("clinic.local", 80) == "http://clinic.local:80"
    settings.OPENPRACTICE_URL = browse_url("192.0.2.10", 8731)
    call_command("seed_demo", "--no-history")
    assert "Log in at http://192.0.2.10:8731 with:" in capsys.readouterr().out
