"""A posted `next` may only lead back into this site: an attacker's form that posts to match a
line or move a shortfall must not bounce the practice manager to another host afterwards."""

from __future__ import annotations

import pytest
from remit_helpers import bundle, receive

from openpractice.remittances.models import LineStatus

OFF_SITE = [
    "https://evil.example/phish",
    "//evil.example/phish",
    "http:\\\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    " https://evil.example/",
]


@pytest.fixture
def biller_client(world, client_for):
    return client_for(world.user)


@pytest.mark.parametrize("target", OFF_SITE)
def test_match_line_refuses_an_off_site_next(world, biller_client, target):
    invoice = world.invoice()
    line = receive(world.practice, bundle([{"invoice": invoice, "number": "ZZZ"}])).lines.get()
    answer = biller_client.post(
        f"/remittances/lines/{line.pk}/match/", {"invoice_number": invoice.number, "next": target}
    )
    assert answer.status_code == 302 and answer["Location"] == "/remittances/review/"
    line.refresh_from_db()
    assert line.status == LineStatus.ALLOCATED  # the action itself still happened


@pytest.mark.parametrize("target", OFF_SITE)
def test_shortfall_transfer_refuses_an_off_site_next(world, biller_client, target):
    part = world.invoice("Scan")
    batch = receive(world.practice, bundle([{"invoice": part, "paid": ["200.00"], "reason": "Benefit maximum"}]))
    answer = biller_client.post(f"/remittances/lines/{batch.lines.get().pk}/shortfall/", {"next": target})
    assert answer.status_code == 302 and answer["Location"] == "/remittances/shortfalls/"


def test_an_on_site_next_is_followed(world, biller_client):
    part = world.invoice("Scan")
    batch = receive(world.practice, bundle([{"invoice": part, "paid": ["200.00"], "reason": "Benefit maximum"}]))
    answer = biller_client.post(
        f"/remittances/lines/{batch.lines.get().pk}/shortfall/", {"next": f"/remittances/{batch.pk}/"}
    )
    assert answer["Location"] == f"/remittances/{batch.pk}/"
    invoice = world.invoice()
    line = receive(world.practice, bundle([{"invoice": invoice, "number": "ZZZ"}])).lines.get()
    absolute = f"http://testserver/invoices/{invoice.pk}/"  # this site's own host, absolute
    answer = biller_client.post(
        f"/remittances/lines/{line.pk}/match/", {"invoice_number": invoice.number, "next": absolute}
    )
    assert answer["Location"] == absolute
