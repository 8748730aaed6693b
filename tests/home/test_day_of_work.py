"""The dashboard's figures (home/selectors.py), each from the owning app's selector, against a small
practice built through the services: what each counts, whose figures each member sees, that each
figure's link lists exactly its rows, and a constant number of queries however many invoices."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command
from django.test import Client

from openpractice.billing import services as billing
from openpractice.billing.models import HealthcodeStatus
from openpractice.healthcode.answers import BillAnswer
from openpractice.healthcode.submission.queue import submit_invoice
from openpractice.healthcode.submission.transitions import apply_answer
from openpractice.home import selectors
from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE
from openpractice.patients.models import Patient
from openpractice.practices.models import Membership, Practice
from openpractice.products.models import Product
from openpractice.remittances import services as remittances

NS = "https://openpractice.org/fhir/healthcode"
TODAY = dt.date.today()


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


class Practice_:
    """The demo practice's set-up (seed_demo without its year) and a way to raise bills in it."""

    def __init__(self):
        call_command("seed_demo", "--quiet-if-exists", "--no-history")
        self.practice = Practice.objects.get(name=DEMO_PRACTICE)
        self.patel = Membership.objects.get(practice=self.practice, user__email__startswith="dr.patel")
        self.sample = Membership.objects.get(practice=self.practice, user__email__startswith="dr.sample")
        self.bill_ids = iter(range(1, 10_000))

    def invoice(self, *, last="Bennett", who=None, day=None, diagnosis="M17.1", to="insurer", issue=True, product=None):
        patient = Patient.objects.get(practice=self.practice, last_name=last)
        insurance = next(r for r in patient.relationships.all() if r.relationship_type == "insurance")
        day = day or TODAY
        invoice = billing.create_invoice(
            practice=self.practice,
            data={
                "bill_to": to,
                "patient": patient,
                "insurance": insurance if to == "insurer" else None,
                "practitioner": who or self.patel,
                "invoice_date": day,
                "primary_diagnosis": diagnosis,
            },
            lines=[
                {
                    "product": Product.objects.get(practice=self.practice, name=product or "Initial consultation"),
                    "service_date": day,
                    "quantity": 1,
                }
            ],
        )
        return billing.issue_invoice(invoice=invoice) if issue else invoice

    def at_healthcode(self, invoice, status, errors=()):
        """Submitted, and the clearing house's answer recorded (as the delivery would)."""
        submission = submit_invoice(invoice=invoice, enqueue=False)
        bill_id = f"HCB{next(self.bill_ids):08d}"
        apply_answer(
            submission_id=submission.pk,
            bill=BillAnswer(bill_id=bill_id, status=status, words=status, errors=list(errors), collected_at=None),
        )
        invoice.refresh_from_db()
        return bill_id

    def remittance(self, lines, *, insurer="bup", day=None):
        """Post a remittance: lines are (invoice number, invoiced, paid)."""
        day = (day or TODAY).isoformat()
        n = next(self.bill_ids)
        details = [
            {
                "extension": [
                    {"url": f"{NS}/StructureDefinition/amount-invoiced", "valueMoney": {"value": float(invoiced)}},
                    {"url": f"{NS}/StructureDefinition/patient-name", "valueString": "Oliver Bennett"},
                ],
                "identifier": {"system": f"{NS}/sid/bill-id", "value": f"HCX{n:05d}{i}"},
                "request": {"identifier": {"system": f"{NS}/sid/invoice-number", "value": number}},
                "amount": {"value": float(paid)},
            }
            for i, (number, invoiced, paid) in enumerate(lines)
        ]
        body = {
            "resourceType": "Bundle",
            "id": f"RMT{n:06d}",
            "entry": [
                {
                    "resource": {
                        "resourceType": "PaymentReconciliation",
                        "id": f"RMT{n:06d}",
                        "paymentIssuer": {"identifier": {"value": insurer}},
                        "paymentIdentifier": {"identifier": {"value": f"BACS{n:06d}"}},
                        "paymentDate": day,
                        "paymentAmount": {"value": float(sum(p for _, _, p in lines))},
                        "detail": details,
                    }
                }
            ],
        }
        batch, _ = remittances.store_batch(
            practice=self.practice, source="clearing_house", external_id=body["id"], raw_payload=json.dumps(body)
        )
        return remittances.post_batch(batch_id=batch.pk)


@pytest.fixture
def world(db):
    """Patel's: 100-day-old Bupa debt, a 40-day-old one, a failed bill, a draft with no diagnosis,
    a part-paid bill with its shortfall waiting, a patient invoice; Sample's: an old Aviva debt.
    And a remittance line nobody can match."""
    w = Practice_()
    w.old = w.invoice(day=days_ago(100))
    w.middle = w.invoice(day=days_ago(40))
    w.failed = w.invoice(day=days_ago(5))
    w.at_healthcode(
        w.failed,
        HealthcodeStatus.FAILED,
        [{"rule": "x", "field": "RegistrationNo", "error": "Not found", "level": "bill", "line": None}],
    )
    w.draft = w.invoice(day=days_ago(2), diagnosis="", issue=False)
    w.short = w.invoice(day=days_ago(20))
    w.remittance(
        [
            (w.short.number, w.short.total, w.short.total - Decimal("30.00")),
            ("INV999999", Decimal("50.00"), Decimal("50.00")),
        ]
    )
    w.self_pay = w.invoice(day=days_ago(10), to="patient")
    w.aviva = w.invoice(last="Patel", who=w.sample, day=days_ago(120))
    return w


def test_each_figure_counts_its_rows(world):
    work = selectors.day_of_work(practice=world.practice, scope=selectors.Scope(can_bill=True))
    insurers, patients = work.owed
    assert [(b.count, b.amount) for b in insurers.bands] == [
        (2, Decimal("30.00") + world.failed.total),  # the failed bill is owed too; the part-paid one's shortfall
        (1, world.middle.total),
        (0, Decimal("0.00")),
        (2, world.old.total + world.aviva.total),
    ]
    assert [(b.count, b.amount) for b in patients.bands][0] == (1, world.self_pay.total)
    assert work.failed.count == 1
    assert work.not_ready.count == 1 and work.not_ready_reasons == [("Diagnosis", "Bupa requires a diagnosis", 1)]
    assert work.review is not None and work.review.count == 1
    assert (work.shortfalls.count, work.shortfalls.amount) == (1, Decimal("30.00"))
    # Largest first: Aviva's contract price for a consultation (£185) is above Bupa's (£180).
    assert [(d.label, d.count, d.amount) for d in work.old_debt] == [
        ("Aviva", 1, world.aviva.total),
        ("Bupa", 1, world.old.total),
    ]


def test_a_practitioner_who_does_not_bill_sees_their_own_bills(world, client):
    scope = selectors.scope_for(world.sample)
    assert scope.own and scope.practitioner_id == world.sample.pk
    work = selectors.day_of_work(practice=world.practice, scope=scope)
    assert sum(b.count for row in work.owed for b in row.bands) == 1
    assert [(d.label, d.count) for d in work.old_debt] == [("Aviva", 1)]
    assert (work.failed.count, work.not_ready.count, work.shortfalls.count) == (0, 0, 0)
    assert work.review is None  # unmatched lines are nobody's bills
    assert all(f"practitioner={world.sample.pk}" in b.url for b in work.owed[0].bands)
    client.force_login(world.sample.user)
    html = client.get("/").content.decode()
    assert "Your figures" in html and 'id="figure-review"' not in html


def test_billing_and_reading_members_see_the_practice(world, make_member):
    from openpractice.practices.roles import Role

    biller = Membership.objects.get(practice=world.practice, user__email__startswith="billing@")
    assert selectors.scope_for(biller) == selectors.Scope(practitioner_id=None, can_bill=True)
    reception = Membership.objects.get(practice=world.practice, user__email__startswith="reception@")
    assert selectors.scope_for(reception) == selectors.Scope(practitioner_id=None, can_bill=False)
    # A practitioner who may bill (an owner who treats patients) sees the practice's work.
    make_member(world.practice, Role.OWNER, email="boss@demo.test")
    owner = Membership.objects.get(user__email="boss@demo.test")
    assert not selectors.scope_for(owner).own


def _list_count(client, url: str) -> int:
    """How many rows the page a dashboard figure links to lists."""
    response = client.get(url)
    assert response.status_code == 200, url
    context = response.context
    path = urlparse(url).path
    if path == "/invoices/" and parse_qs(urlparse(url).query).get("view") == ["not_ready"]:
        return response.content.decode().count('class="why-cell"')  # one per bill listed
    if path == "/invoices/":
        return context["count"]
    if path.endswith("/review/"):
        return len(context["rows"])
    if path.endswith("/shortfalls/"):
        return len(list(context["lines"]))
    raise AssertionError(url)


@pytest.mark.parametrize("who", ["billing@", "dr.patel@", "dr.sample@"])
def test_every_figure_links_to_a_list_of_exactly_its_rows(world, who):
    member = Membership.objects.get(practice=world.practice, user__email__startswith=who)
    client = Client()
    client.force_login(member.user)
    work = client.get("/").context["work"]
    figures = [b for row in work.owed for b in row.bands if b.count] + [work.failed, work.not_ready, work.shortfalls]
    figures += work.old_debt + ([work.review] if work.review else [])
    assert len(figures) >= 5
    for figure in figures:
        assert _list_count(client, figure.url) == figure.count, (figure.label, figure.url)


def test_the_aged_debt_report_of_a_practitioner_equals_their_dashboard(world, client):
    client.force_login(world.patel.user)
    work = client.get("/").context["work"]
    report = client.get(work.aged_debt_url).context["report"]
    assert report.totals == [b.amount for b in work.owed[0].bands]
    assert "practitioner=" in work.aged_debt_url


def test_the_dashboard_reads_in_a_constant_number_of_queries(world, client, django_assert_max_num_queries):
    biller = Membership.objects.get(practice=world.practice, user__email__startswith="billing@")
    client.force_login(biller.user)
    client.get("/")  # sessions and caches warmed
    with django_assert_max_num_queries(40) as first:
        client.get("/")
    few = len(first.captured_queries)  # now: the connection's query log keeps only the last 9,000
    for n in range(15):  # more of everything the figures count
        world.invoice(day=days_ago(5 + n * 9))
        world.invoice(day=days_ago(3), diagnosis="", issue=False)
        world.at_healthcode(world.invoice(day=days_ago(4)), HealthcodeStatus.FAILED)
    client.get("/")  # the new bills' pre-submission checks stored (stored_checks.refresh)
    with django_assert_max_num_queries(few):
        client.get("/")


def test_a_practice_with_no_invoices_is_told_what_to_do_next(owner_client):
    html = owner_client.get("/").content.decode()
    assert "No invoices yet" in html and "New invoice" in html
