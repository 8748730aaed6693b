"""A remittance is recognised by what it says, not its bytes: the same payment as a FHIR file, as a
CSV (LF or CRLF line endings, with or without bill ids, another encoding) or fetched from the
clearing house posts once. A line already received is never posted again; the preview says which
lines those are; a partly overlapping file posts only the new lines."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from remit_helpers import MAPPING, as_csv, bundle, csv_options, dumps, receive

from openpractice.remittances import services
from openpractice.remittances.errors import RemittanceError
from openpractice.remittances.models import Allocation, LineStatus, PendingImport, RemittanceBatch, RemittanceLine

D = Decimal


def paid(invoice) -> Decimal:
    invoice.refresh_from_db()
    return invoice.paid_total


def test_crlf_copy_of_a_csv_posts_nothing_more(world):
    """Finding (a): the same CSV saved with CRLF line endings was taken as a new file."""
    invoice = world.invoice("Follow-up")
    body = bundle([{"invoice": invoice, "paid": ["50.00"]}])
    services.import_file(practice=world.practice, content=as_csv(body), user=world.user, **csv_options(body))
    assert paid(invoice) == D("50.00")
    with pytest.raises(RemittanceError) as refused:
        services.import_file(
            practice=world.practice, content=as_csv(body, newline="\r\n"), user=world.user, **csv_options(body)
        )
    assert refused.value.code == "duplicate"
    assert paid(invoice) == D("50.00") and RemittanceBatch.objects.count() == 1


def test_csv_of_a_fetched_remittance_posts_nothing_more(world):
    """Finding (b): a CSV of a batch already received from the clearing house was allocated again."""
    invoice = world.invoice()
    body = bundle([{"invoice": invoice, "paid": ["150.00"]}])
    receive(world.practice, body)
    assert paid(invoice) == D("150.00")
    for content, bill_ids in (
        (as_csv(body), True),
        (as_csv(body, bill_ids=False), False),
        (as_csv(body, newline="\r\n", bill_ids=False), False),
        (b"\xef\xbb\xbf" + as_csv(body), True),
        (as_csv(body, encoding="utf-16"), True),
    ):
        with pytest.raises(RemittanceError) as refused:
            services.import_file(
                practice=world.practice, content=content, user=world.user, **csv_options(body, bill_ids=bill_ids)
            )
        assert refused.value.code == "duplicate"
    assert paid(invoice) == D("150.00") and Allocation.objects.filter(invoice=invoice).count() == 1


def test_fhir_file_with_another_id_is_the_same_remittance(world):
    invoice = world.invoice()
    body = bundle([{"invoice": invoice}])
    receive(world.practice, body)
    other = json.loads(dumps(body))
    other["id"] = other["entry"][0]["resource"]["id"] = "RMT-COPY-1"
    with pytest.raises(RemittanceError) as refused:
        services.import_file(
            practice=world.practice, content=json.dumps(other, indent=2).encode(), kind="fhir", user=world.user
        )
    assert refused.value.code == "duplicate" and "received already" in refused.value.message
    assert paid(invoice) == D("180.00")


def test_partly_overlapping_file_posts_only_the_new_lines(world):
    old, new = world.invoice(), world.invoice("Scan")
    first = bundle([{"invoice": old, "paid": ["100.00"]}])
    batch = receive(world.practice, first)
    both = bundle(
        [{"invoice": old, "paid": ["100.00"]}, {"invoice": new}],
        reference=first["entry"][0]["resource"]["paymentIdentifier"]["value"],
    )
    preview = services.preview_file(
        practice=world.practice, content=as_csv(both, bill_ids=False), **csv_options(both, bill_ids=False)
    )
    assert [line.sequence for line in preview.already_posted] == [1] and len(preview.new_lines) == 1
    (seen,) = preview.already_posted
    assert preview.posted_from[seen.sequence].batch_id == batch.pk
    imported = services.import_file(
        practice=world.practice,
        content=as_csv(both, bill_ids=False),
        user=world.user,
        **csv_options(both, bill_ids=False),
    )
    assert paid(old) == D("100.00") and paid(new) == D("250.00")
    statuses = dict(imported.lines.values_list("sequence", "status"))
    assert statuses == {1: LineStatus.DUPLICATE, 2: LineStatus.ALLOCATED}
    assert "Already posted" in imported.lines.get(sequence=1).problem


def test_a_fetched_batch_repeating_a_posted_line_posts_it_once(world):
    """From any source: a clearing-house batch that repeats a line a CSV already posted."""
    invoice = world.invoice()
    body = bundle([{"invoice": invoice, "paid": ["120.00"]}])
    services.import_file(
        practice=world.practice,
        content=as_csv(body, bill_ids=False),
        user=world.user,
        **csv_options(body, bill_ids=False),
    )
    again = json.loads(dumps(body))
    again["id"] = again["entry"][0]["resource"]["id"] = "RMT-LATER-1"
    again["entry"][0]["resource"]["paymentDate"] = "2020-01-01"  # another fingerprint, the same line
    batch = receive(world.practice, again)
    assert batch.lines.get().status == LineStatus.DUPLICATE
    assert paid(invoice) == D("120.00")


def test_two_equal_lines_in_one_remittance_both_post_and_repost_never(world):
    invoice = world.invoice("Consultation", "Follow-up")
    body = bundle([{"invoice": invoice, "paid": ["50.00", "0.00"]}, {"invoice": invoice, "paid": ["50.00", "0.00"]}])
    receive(world.practice, body)
    assert paid(invoice) == D("100.00")
    with pytest.raises(RemittanceError):
        services.import_file(
            practice=world.practice,
            content=as_csv(body, bill_ids=False),
            user=world.user,
            **csv_options(body, bill_ids=False),
        )
    assert paid(invoice) == D("100.00")


def test_a_duplicate_line_cannot_be_matched_by_hand(world):
    invoice = world.invoice()
    body = bundle([{"invoice": invoice, "paid": ["120.00"]}])
    receive(world.practice, body)
    again = json.loads(dumps(body))
    again["id"] = again["entry"][0]["resource"]["id"] = "RMT-LATER-2"
    again["entry"][0]["resource"]["paymentDate"] = "2020-01-01"
    line = receive(world.practice, again).lines.get()
    with pytest.raises(RemittanceError):
        services.match_by_hand(line=line, invoice=invoice)
    assert paid(invoice) == D("120.00")


def test_the_database_refuses_a_second_line_with_the_same_key(world):
    from django.db import IntegrityError, transaction

    invoice = world.invoice()
    batch = receive(world.practice, bundle([{"invoice": invoice}]))
    line = batch.lines.get()
    assert line.line_key
    with pytest.raises(IntegrityError), transaction.atomic():
        RemittanceLine.objects.create(
            practice=world.practice,
            batch=batch,
            sequence=2,
            invoice_number="X",
            amount_invoiced=1,
            amount_paid=1,
            line_key=line.line_key,
        )


# -- the page and the API ------------------------------------------------------------------------
@pytest.fixture
def biller_client(world, client_for):
    return client_for(world.user)


def _upload(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def _csv_form(body):
    options = csv_options(body)
    return {
        "kind": "csv",
        "insurer_identifier": "bup",
        "payment_reference": options["payment_reference"],
        "payment_date": options["payment_date"].isoformat(),
        **{f"column_{k}": v for k, v in MAPPING.items()},
    }


def test_page_upload_preview_confirm_then_the_same_file_again(world, biller_client):
    old, new = world.invoice(), world.invoice("Scan")
    first = bundle([{"invoice": old, "paid": ["100.00"]}])
    receive(world.practice, first)
    both = bundle(
        [{"invoice": old, "paid": ["100.00"]}, {"invoice": new}],
        reference=first["entry"][0]["resource"]["paymentIdentifier"]["value"],
    )
    page = biller_client.post("/remittances/import/", {**_csv_form(both), "file": _upload("r.csv", as_csv(both))})
    text = page.content.decode()
    assert page.status_code == 200 and "Already posted" in text and first["id"] in text
    assert "1 new bill" in text
    pending = PendingImport.objects.get()
    assert "remittance_import" not in biller_client.session  # the file waits in its own row, not the session
    answer = biller_client.post(f"/remittances/import/{pending.pk}/confirm/")
    assert answer.status_code == 302
    assert paid(old) == D("100.00") and paid(new) == D("250.00")
    assert not PendingImport.objects.exists()
    again = biller_client.post(
        "/remittances/import/", {**_csv_form(both), "file": _upload("r.csv", as_csv(both, newline="\r\n"))}
    )
    text = again.content.decode()
    assert "received already" in text and "Post this remittance" not in text
    assert not PendingImport.objects.exists()


def test_another_users_pending_import_is_404(world, biller_client, client_for, make_member):
    from openpractice.practices.roles import Role

    invoice = world.invoice()
    body = bundle([{"invoice": invoice}])
    biller_client.post("/remittances/import/", {"kind": "fhir", "file": _upload("r.json", dumps(body).encode())})
    pending = PendingImport.objects.get()
    other = client_for(make_member(world.practice, Role.BILLING))
    assert other.post(f"/remittances/import/{pending.pk}/confirm/").status_code == 404
    assert paid(invoice) == D("0.00")


def test_expired_pending_import_posts_nothing(world, biller_client):
    from django.utils import timezone

    invoice = world.invoice()
    body = bundle([{"invoice": invoice}])
    biller_client.post("/remittances/import/", {"kind": "fhir", "file": _upload("r.json", dumps(body).encode())})
    pending = PendingImport.objects.get()
    PendingImport.objects.filter(pk=pending.pk).update(expires_at=timezone.now())
    answer = biller_client.post(f"/remittances/import/{pending.pk}/confirm/", follow=True)
    assert "expired" in answer.content.decode()
    assert paid(invoice) == D("0.00") and not PendingImport.objects.exists()


def test_api_preview_lists_posted_lines_and_import_posts_only_the_rest(world, api_token_for, client_for):
    headers = api_token_for(world.user, world.practice)
    client = client_for(world.user)
    old, new = world.invoice(), world.invoice("Scan")
    first = bundle([{"invoice": old, "paid": ["100.00"]}])
    receive(world.practice, first)
    both = bundle(
        [{"invoice": old, "paid": ["100.00"]}, {"invoice": new}],
        reference=first["entry"][0]["resource"]["paymentIdentifier"]["value"],
    )
    options = csv_options(both)
    payload = {
        "kind": "csv",
        "content_base64": base64.b64encode(as_csv(both, newline="\r\n")).decode(),
        "mapping": MAPPING,
        "insurer_identifier": "bup",
        "payment_reference": options["payment_reference"],
        "payment_date": options["payment_date"].isoformat(),
    }

    def post(data):
        return client.post("/api/v1/remittances/import", json.dumps(data), content_type="application/json", **headers)

    preview = post({**payload, "preview": True})
    assert preview.status_code == 200, preview.content
    out = preview.json()
    assert out["lines"] == 2 and out["new_lines"] == 1 and out["already_posted"][0]["sequence"] == 1
    assert out["already_posted"][0]["remittance"] == first["id"]
    created = post(payload)
    assert created.status_code == 201, created.content
    assert paid(old) == D("100.00") and paid(new) == D("250.00")
    again = post(payload)
    assert again.status_code == 422 and again.json()["detail"][0]["type"] == "duplicate"
    assert paid(new) == D("250.00")
