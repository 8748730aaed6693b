"""The other background work's progress fragments: a bulk submission's (polled while invoices are
being queued or are on their way; still once nothing moves, "Done" or stopped; the refused table
inside it, so it fills in as answers arrive) and a code-set import's (polled while checked or
applied; the whole page reloads once finished, for its results). Both say "Refresh" for a browser
without JavaScript while they move."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from django.utils import timezone

sys.path.insert(0, str(Path(__file__).parent.parent / "remittances"))
from remit_helpers import World

from openpractice.coding.models import CodeImport, ImportStatus
from openpractice.healthcode.models import BulkSubmission, BulkSubmissionItem, Submission, SubmissionState
from openpractice.practices.roles import Role


@pytest.fixture
def world(practice, make_member, insurer_contact):
    return World(practice, make_member, insurer_contact)


def _bulk(world, states, *, queueing=False, never=0):
    bulk = BulkSubmission.objects.create(
        practice=world.practice,
        requested=len(states) + never,
        queueing_finished_at=None if queueing or never else timezone.now(),
        queueing_seen_at=timezone.now() if queueing else timezone.now() - dt.timedelta(minutes=10),
    )
    for n, state in enumerate(states):
        invoice = world.invoice()
        BulkSubmissionItem.objects.create(bulk=bulk, invoice=invoice)
        Submission.objects.create(
            practice=world.practice,
            invoice=invoice,
            version=1,
            idempotency_key=f"b{bulk.pk}-{n}",
            bulk=bulk,
            state=state,
            bill_id=f"HCB{bulk.pk}{n:04d}" if state == SubmissionState.ACCEPTED else "",
            errors=[{"error": "Member not found"}] if state == SubmissionState.REJECTED else [],
        )
    for _ in range(never):
        BulkSubmissionItem.objects.create(bulk=bulk, invoice=world.invoice())
    return bulk


def _progress(client, bulk) -> str:
    return client.get(f"/invoices/bulk/{bulk.pk}/progress/").content.decode()


@pytest.mark.parametrize(
    "states, queueing",
    [([SubmissionState.QUEUED], False), ([SubmissionState.SENDING], False), ([], True)],
    ids=["queued", "sending", "queueing"],
)
def test_bulk_polls_while_something_moves(world, client_for, states, queueing):
    html = _progress(client_for(world.user), _bulk(world, states, queueing=queueing, never=0 if states else 1))
    assert 'hx-trigger="every 1s"' in html and ">Refresh</a>" in html and "<h2>Done" not in html


def test_bulk_done_stops_polling_with_the_refused_table(world, client_for):
    bulk = _bulk(world, [SubmissionState.ACCEPTED, SubmissionState.REJECTED])
    html = _progress(client_for(world.user), bulk)
    assert "<h2>Done</h2>" in html and "hx-get" not in html and ">Refresh</a>" not in html
    assert "Member not found" in html and "2</strong> of 2 answered" in html


def test_bulk_stopped_with_nothing_on_the_way_stops_polling(world, client_for):
    bulk = _bulk(world, [SubmissionState.ACCEPTED], never=2)
    html = _progress(client_for(world.user), bulk)
    assert "Stopped before every invoice was queued" in html and "Send the rest (2)" in html
    assert "hx-get" not in html  # the button is not replaced under the pointer every second


def test_code_import_progress_polls_then_reloads_the_page_once_finished(world, client_for, make_member):
    owner = client_for(make_member(world.practice, Role.OWNER))
    code_import = CodeImport.objects.create(
        practice=world.practice, kind="codes", system="ccsd", filename="codes.csv", rows_total=10, rows_done=4
    )
    url = f"/settings/coding/imports/{code_import.pk}/progress/"
    answer = owner.get(f"{url}?was=checking")
    html = answer.content.decode()
    assert "hx-get" in html and "4 of about 10 rows" in html and ">Refresh</a>" in html
    assert "HX-Refresh" not in answer
    CodeImport.objects.filter(pk=code_import.pk).update(status=ImportStatus.READY)
    answer = owner.get(f"{url}?was=checking")
    assert answer["HX-Refresh"] == "true"  # the preview and the Apply button come with the page
    assert "hx-get" not in answer.content.decode() and ">Refresh</a>" not in answer.content.decode()
