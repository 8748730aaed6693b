"""A bulk run knows every invoice it was asked for before it queues any: after a crash half-way
its page shows each invoice as answered, on the way, held back or never queued, never "Done", and
"Send the rest" queues exactly the rest, once. "Select all N matching" submits any number of
invoices by posting the filter, not the ids."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from openpractice.healthcode import submission as hc
from openpractice.healthcode.models import BulkSubmission, Submission
from openpractice.healthcode.selectors import bulk_progress
from openpractice.healthcode.submission import bulk as bulk_run


def _client(email="billing@demo.openpractice.test"):
    from openpractice.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=email))
    return client


def _crash_after_first_chunk(monkeypatch):
    real = bulk_run._queue_chunk_or_one_by_one
    calls = {"n": 0}

    def queue_then_die(**kwargs):
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("the web process died here")
        return real(**kwargs)

    monkeypatch.setattr(bulk_run, "_queue_chunk_or_one_by_one", queue_then_die)


def _interrupted_run(demo, make_invoice, monkeypatch):
    ready = [make_invoice(last_name=name) for name in ["Bennett", "Clarke", "Patel", "Robinson"] * 2][:7]
    held = make_invoice(service_date=dt.date.today() + dt.timedelta(days=3))  # dated ahead: the check stops it
    _crash_after_first_chunk(monkeypatch)
    with pytest.raises(RuntimeError):
        hc.submit_many(practice=demo, invoice_ids=[i.pk for i in ready + [held]], chunk=3, background=False)
    monkeypatch.undo()
    bulk = BulkSubmission.objects.get(practice=demo)
    # The run stopped making progress a while ago: it was cut short, not still queueing.
    BulkSubmission.objects.filter(pk=bulk.pk).update(queueing_seen_at=timezone.now() - dt.timedelta(minutes=5))
    bulk.refresh_from_db()
    return bulk, ready, held


def test_an_interrupted_run_shows_every_invoice_and_sends_the_rest_once(
    demo, make_invoice, monkeypatch, healthcode_sandbox
):
    bulk, ready, held = _interrupted_run(demo, make_invoice, monkeypatch)
    assert bulk.items.count() == 8  # every invoice asked for, recorded before anything was queued
    progress = bulk_progress(bulk=bulk)
    assert (progress["in_flight"], progress["held"], progress["never_queued"]) == (3, 1, 4)
    assert progress["stopped"] and not progress["finished"]

    biller = _client()
    page = biller.get(f"/invoices/bulk/{bulk.pk}/").content.decode()
    assert "Stopped before every invoice was queued" in page and "<h2>Done" not in page
    summary = re.search(r"<p><strong>.*?</p>", page, re.S).group(0)
    assert "0</strong> of 7 answered" in summary and ">4</strong> not queued yet" in summary, summary
    assert "Send the rest (4)" in page
    never = re.search(r'<table class="data compact" id="bulk-never-rows">.*?</table>', page, re.S).group(0)
    assert all(f'href="/invoices/{invoice.pk}/"' in never for invoice in ready[3:])  # the never-queued, each linked
    assert "Draft " not in never  # a draft reads as one, not as a number

    assert biller.post(f"/invoices/bulk/{bulk.pk}/send-rest/").status_code == 302
    assert biller.post(f"/invoices/bulk/{bulk.pk}/send-rest/").status_code == 302  # a double click
    subs = Submission.objects.filter(bulk=bulk)
    assert sorted(subs.values_list("invoice_id", flat=True)) == sorted(i.pk for i in ready)  # exactly once each
    assert Submission.objects.filter(invoice=held).count() == 0
    bulk.refresh_from_db()
    assert [s["invoice_id"] for s in bulk.skipped] == [held.pk] and bulk.skipped[0]["why"]  # held, with why

    hc.deliver_concurrently(list(subs.values_list("pk", flat=True)))
    page = biller.get(f"/invoices/bulk/{bulk.pk}/progress/").content.decode()
    assert "<h2>Done</h2>" in page and "7</strong> of 7 answered" in page and "Send the rest" not in page


def test_the_api_reports_an_interrupted_run_and_sends_the_rest(demo, make_invoice, monkeypatch, api_token_for):
    from openpractice.accounts.models import User

    bulk, ready, held = _interrupted_run(demo, make_invoice, monkeypatch)
    headers = api_token_for(User.objects.get(email="billing@demo.openpractice.test"), demo)
    client = Client()
    status = client.get(f"/api/v1/invoices/healthcode/bulk/{bulk.pk}", **headers).json()
    assert (status["never_queued"], status["in_flight"], status["stopped"], status["finished"]) == (4, 3, True, False)
    answer = client.post(f"/api/v1/invoices/healthcode/bulk/{bulk.pk}/send-rest", **headers)
    assert answer.status_code == 202
    assert (answer.json()["never_queued"], answer.json()["in_flight"]) == (0, 7)
    again = client.post(f"/api/v1/invoices/healthcode/bulk/{bulk.pk}/send-rest", **headers).json()
    assert again["in_flight"] == 7 and Submission.objects.filter(bulk=bulk).count() == 7


def test_another_practices_run_is_404(demo, make_invoice, monkeypatch, make_practice, make_member):
    bulk, _, _ = _interrupted_run(demo, make_invoice, monkeypatch)
    other = make_practice("Elsewhere Clinic")
    stranger = Client()
    stranger.force_login(make_member(other, email="billing@elsewhere.test"))
    assert stranger.get(f"/invoices/bulk/{bulk.pk}/").status_code == 404
    assert stranger.post(f"/invoices/bulk/{bulk.pk}/send-rest/").status_code == 404
    assert Submission.objects.filter(bulk=bulk).count() == 3


def test_select_all_matching_submits_over_a_thousand_invoices_without_a_field_limit(demo):
    from bench.harness import make_invoices
    from openpractice.billing.selectors import submittable_matching

    make_invoices(practice=demo, count=1001)
    expected = set(submittable_matching(practice=demo).values_list("pk", flat=True))
    assert len(expected) >= 1001
    biller = _client()
    listing = biller.get("/invoices/").content.decode()
    # The list counts only up to billing's COUNT_CAP (1,000): the confirmation counts them all.
    assert "Select all (more than 1,000) matching this filter" in listing

    answer = biller.post(
        "/invoices/bulk/",
        {
            "scope": "matching",
            "q": "",
            "healthcode_status": "",
            "insurer": "",
            "practitioner": "",
            "age": "",
            "confirmed": "yes",
        },
    )
    assert answer.status_code == 302, answer.status_code  # not Django's 400 for too many fields
    bulk = BulkSubmission.objects.get(practice=demo)
    assert set(bulk.items.values_list("invoice_id", flat=True)) == expected
    page = biller.get(answer["Location"]).content.decode()  # queued by a worker; the page says so
    assert "Done" not in page and f"{len(expected)}</strong> not queued yet" in page


def test_select_all_matching_keeps_to_the_filter(demo, make_invoice):
    from openpractice.contacts.models import Contact

    bupa = [make_invoice(last_name="Bennett") for _ in range(2)]
    make_invoice(last_name="Patel")  # Aviva
    insurer = Contact.objects.get(pk=bupa[0].insurer_contact_id)
    answer = _client().post("/invoices/bulk/", {"scope": "matching", "insurer": str(insurer.pk), "confirmed": "yes"})
    assert answer.status_code == 302
    bulk = BulkSubmission.objects.get(practice=demo)
    chosen = set(bulk.items.values_list("invoice__insurer_contact_id", flat=True))
    assert chosen == {insurer.pk}


def test_bulk_submit_asks_first_with_count_insurers_and_amount(demo, make_invoice):
    from decimal import Decimal

    from openpractice.billing.money import format_gbp

    bupa = [make_invoice(last_name="Bennett") for _ in range(2)]
    aviva = make_invoice(last_name="Patel")
    chosen = bupa + [aviva]
    biller = _client()
    asked = biller.post("/invoices/bulk/", {"invoice": [i.pk for i in chosen]})
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "Submit 3 bills to Healthcode?" in page and "Send 3 bills to Healthcode</button>" in page
    assert '<td>Bupa</td><td class="num">2</td>' in page and '<td>Aviva</td><td class="num">1</td>' in page
    assert format_gbp(sum((i.total for i in chosen), Decimal("0"))) in page
    assert not BulkSubmission.objects.filter(practice=demo).exists()  # nothing sent by asking
    for invoice in chosen:
        assert f'<input type="hidden" name="invoice" value="{invoice.pk}">' in page
    sent = biller.post("/invoices/bulk/", {"invoice": [i.pk for i in chosen], "confirmed": "yes"})
    assert sent.status_code == 302
    assert BulkSubmission.objects.get(practice=demo).items.count() == 3


def test_bulk_confirmation_of_a_filter_carries_the_filter_not_ids(demo, make_invoice):
    from openpractice.contacts.models import Contact

    bupa = make_invoice(last_name="Bennett")
    make_invoice(last_name="Patel")
    insurer = Contact.objects.get(pk=bupa.insurer_contact_id)
    page = _client().post("/invoices/bulk/", {"scope": "matching", "insurer": str(insurer.pk)}).content.decode()
    assert '<input type="hidden" name="scope" value="matching">' in page
    assert f'<input type="hidden" name="insurer" value="{insurer.pk}">' in page
    assert 'name="invoice"' not in page and "Submit 1 bill to Healthcode?" in page


def test_a_filter_that_matches_nothing_submittable_says_so_and_asks_nothing(demo, make_invoice):
    from openpractice.contacts.models import Contact

    bupa = make_invoice(last_name="Bennett")
    insurer = Contact.objects.get(pk=bupa.insurer_contact_id)
    biller = _client()
    asked = biller.post("/invoices/bulk/", {"scope": "matching", "insurer": str(insurer.pk), "q": "nobody-called-this"})
    assert asked.status_code == 302 and asked["Location"] == "/invoices/"
    listing = biller.get("/invoices/").content.decode()
    assert "No invoice matching this filter can be submitted to Healthcode." in listing
    confirmed = biller.post(
        "/invoices/bulk/", {"scope": "matching", "q": "nobody-called-this", "confirmed": "yes"}, follow=True
    )
    assert "No invoice matching this filter can be submitted to Healthcode." in confirmed.content.decode()
    assert not BulkSubmission.objects.filter(practice=demo).exists()
