"""The insurer debt list: insurer bills unpaid beyond their insurer's usual days to pay (a
setting on the insurer contact, 30 by default), with the insurer's contact details and the
bill's history, filtered by insurer and age, keyset paged; the page at the edge."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from remit_helpers import bundle, receive

from openpractice.contacts import services as contacts
from openpractice.practices.roles import Role
from openpractice.receivables import insurer_debt

TODAY = dt.date.today()


def _aged(world, days, debts):
    return debts.age(world.invoice("Consultation"), days)


def test_only_bills_beyond_the_insurers_usual_days(world, debts):
    assert world.insurer.usual_days_to_pay == 30
    young, old = _aged(world, 20, debts), _aged(world, 45, debts)
    page = insurer_debt.insurer_debt_page(practice=world.practice)
    assert [r.invoice.pk for r in page.rows] == [old.pk]
    row = page.rows[0]
    assert (row.days_unpaid, row.days_beyond, row.balance) == (45, 15, Decimal("180.00"))
    contacts.update_contact(contact=world.insurer, data={"usual_days_to_pay": 14})
    page = insurer_debt.insurer_debt_page(practice=world.practice)
    assert [r.invoice.pk for r in page.rows] == [old.pk, young.pk]


def test_paid_bills_leave_the_list_and_part_payments_show_in_the_history(world, debts):
    paid, part = _aged(world, 40, debts), _aged(world, 50, debts)
    receive(world.practice, bundle([{"invoice": paid}, {"invoice": part, "paid": ["100.00"]}]))
    rows = insurer_debt.insurer_debt_page(practice=world.practice).rows
    assert [r.invoice.pk for r in rows] == [part.pk]
    assert rows[0].balance == Decimal("80.00")
    assert any(h.startswith("Insurer paid £100.00") for h in rows[0].history)


def test_filters_by_insurer_and_age(world, debts, insurer_contact):
    forty, hundred = _aged(world, 40, debts), _aged(world, 100, debts)
    assert [r.invoice.pk for r in insurer_debt.insurer_debt_page(practice=world.practice, age="90").rows] == [
        hundred.pk
    ]
    other = insurer_contact(world.practice, "ppp")
    assert not insurer_debt.insurer_debt_page(practice=world.practice, insurer_id=other.pk).rows
    both = insurer_debt.insurer_debt_page(practice=world.practice, insurer_id=world.insurer.pk).rows
    assert [r.invoice.pk for r in both] == [hundred.pk, forty.pk]


def test_keyset_pages_cover_every_bill_once(world, debts):
    made = [_aged(world, 31 + n // 2, debts).pk for n in range(7)]
    seen, after = [], None
    while True:
        page = insurer_debt.insurer_debt_page(practice=world.practice, after=after, size=3)
        seen += [r.invoice.pk for r in page.rows]
        if not page.next_after:
            break
        after = page.next_after
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    # A malformed cursor shows the first page.
    assert insurer_debt.insurer_debt_page(practice=world.practice, after="nonsense", size=3).rows


def test_the_page(world, debts, client_for, make_member):
    old = _aged(world, 45, debts)
    contacts.update_contact(contact=world.insurer, data={"email": "claims@bupa.test", "phone": "0345 000 0000"})
    client = client_for(world.user)
    html = client.get(reverse("receivables:insurer_debt")).content.decode()
    assert old.number in html and "claims@bupa.test" in html and "0345 000 0000" in html and "15 beyond its 30" in html
    html = client.get(reverse("receivables:insurer_debt") + "?age=90").content.decode()
    assert old.number not in html and "No insurer bill matches" in html
    receptionist = client_for(make_member(world.practice, Role.RECEPTIONIST))
    assert receptionist.get(reverse("receivables:insurer_debt")).status_code == 403


def test_the_contact_form_sets_the_usual_days(world, client_for, make_member):
    client = client_for(make_member(world.practice, Role.OWNER))
    url = reverse("contacts:edit", args=[world.insurer.pk])
    data = {"contact_type": "insurer", "name": world.insurer.name, "insurer": str(world.insurer.insurer_id)}
    response = client.post(url, {**data, "usual_days_to_pay": "400"})
    assert response.status_code == 200 and "365" in response.content.decode()
    assert client.post(url, {**data, "usual_days_to_pay": "45"}).status_code == 302
    world.insurer.refresh_from_db()
    assert world.insurer.usual_days_to_pay == 45
    assert client.post(url, {**data, "usual_days_to_pay": ""}).status_code == 302
    world.insurer.refresh_from_db()
    assert world.insurer.usual_days_to_pay == 30


def test_another_practice_sees_none_of_it(world, debts, other_practice):
    _aged(world, 45, debts)
    assert not insurer_debt.insurer_debt_page(practice=other_practice).rows


@pytest.mark.parametrize("value", ["-1", "366", "soon"])
def test_usual_days_are_checked_by_the_service(world, value):
    from openpractice.contacts.errors import ContactError

    with pytest.raises(ContactError) as caught:
        contacts.update_contact(contact=world.insurer, data={"usual_days_to_pay": value})
    assert caught.value.field == "usual_days_to_pay"


def test_an_underpayment_shows_its_dispute_in_the_history(world, debts):
    from openpractice.products import services as products
    from openpractice.receivables import disputes
    from openpractice.remittances.models import ShortfallVerdict

    products.set_contract_price(
        product=world.products["Consultation"],
        insurer_contact=world.insurer,
        price="180.00",
        valid_from=TODAY - dt.timedelta(days=400),
    )
    bill = _aged(world, 45, debts)
    receive(
        world.practice,
        bundle([{"invoice": bill, "paid": ["150.00"], "reason": "Fee schedule", "code": "fee-schedule"}]),
    )
    disputes.mark_sent(verdict=ShortfallVerdict.objects.get(invoice=bill))
    (row,) = insurer_debt.insurer_debt_page(practice=world.practice).rows
    assert "Underpaid by £30.00: insurer dispute sent to the insurer" in row.history
