"""The invoice list's "Not ready to submit" view ({% invoices_not_ready %}) and the dashboard's
figure, read from the stored checks: what they list and count, keyset pages and a bad page link,
bills being re-checked, and a fixed number of queries whatever the number of bills."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from openpractice.billing import services as billing
from openpractice.healthcode import selectors, stored_checks
from openpractice.healthcode.models import InvoiceCheck
from openpractice.healthcode.templatetags import healthcode as tags
from openpractice.home import selectors as home
from openpractice.practices.models import Membership
from tests.healthcode.demo_bills import TODAY, Demo

URL = "/invoices/?view=not_ready"


@pytest.fixture
def demo(db):
    return Demo()


@pytest.fixture
def biller(demo):
    client = Client()
    client.force_login(Membership.objects.get(practice=demo.practice, user__email__startswith="billing@").user)
    return client


def _listed(html: str) -> int:
    return html.count('class="why-cell"')


def test_the_view_lists_each_bill_not_ready_with_why(demo, biller):
    unready = demo.bill(diagnosis="")
    ready = demo.bill(last="Clarke")
    html = biller.get(URL).content.decode()
    assert _listed(html) == 1 and unready.number in html and ready.number not in html
    assert "Bupa requires a diagnosis" in html and "1 invoice not ready" in html
    # Stored, so the next page view checks nothing again.
    assert set(InvoiceCheck.objects.values_list("pk", flat=True)) >= {unready.pk, ready.pk}


def test_a_corrected_bill_leaves_the_view_at_once(demo, biller):
    unready = demo.bill(diagnosis="", issue=False)
    assert _listed(biller.get(URL).content.decode()) == 1
    billing.update_invoice(invoice=unready, data={"primary_diagnosis": "M17.1"})
    html = biller.get(URL).content.decode()
    assert _listed(html) == 0 and "Every insurer invoice is ready" in html


def test_pages_follow_each_other_newest_first(demo, biller, monkeypatch):
    monkeypatch.setattr(tags, "NOT_READY_PAGE_SIZE", 2)
    bills = [demo.bill(diagnosis="", day=TODAY - dt.timedelta(days=n % 3)) for n in range(5)]
    expected = [b.number for b in sorted(bills, key=lambda b: (b.invoice_date, b.pk), reverse=True)]
    seen, url = [], URL
    for _ in range(4):
        html = biller.get(url).content.decode()
        seen += re.findall(r'<a href="/invoices/\d+/">([A-Z]+\d+)</a>', html)
        following = re.search(r'<a href="([^"]+)" rel="next"', html)
        if following is None:
            break
        url = "/invoices/" + unescape(following[1])
    assert seen == expected
    assert "5 invoices not ready, 2 on this page" in biller.get(URL).content.decode()


@pytest.mark.parametrize("cursor", ["nonsense", "2026-13-45.1", "2026-01-01", "2026-01-01.x", "2026-01-01.1;DROP"])
def test_a_bad_page_link_shows_the_first_page_and_says_so(demo, biller, cursor):
    demo.bill(diagnosis="")
    response = biller.get("/invoices/", {"view": "not_ready", "after": cursor})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="not-ready-bad-page"' in html and _listed(html) == 1


def test_a_page_past_the_end_says_so(demo, biller):
    demo.bill(diagnosis="")
    html = biller.get("/invoices/", {"view": "not_ready", "after": "1990-01-01.1"}).content.decode()
    assert _listed(html) == 0 and "No more bills" in html


def test_bills_being_rechecked_are_counted_not_hidden(demo, biller, monkeypatch):
    monkeypatch.setattr(stored_checks, "INLINE_LIMIT", 1)
    for _ in range(3):
        demo.bill(diagnosis="")
    html = biller.get(URL).content.decode()
    assert "3 bills are being re-checked" in html and "No bill known not to be ready" in html
    work = home.day_of_work(practice=demo.practice, scope=home.Scope(can_bill=True))
    assert work.rechecking == 3 and work.not_ready.count == 0
    assert "3 bills are being re-checked" in biller.get("/").content.decode()


def test_the_dashboard_figure_equals_the_view(demo, biller):
    for n in range(3):
        demo.bill(diagnosis="", who=demo.sample if n else demo.patel)
    demo.bill(day=TODAY + dt.timedelta(days=2))  # not ready until then
    demo.bill()
    work = home.day_of_work(practice=demo.practice, scope=home.Scope(can_bill=True))
    assert work.not_ready.count == 4 == _listed(biller.get(URL).content.decode())
    assert work.not_ready_reasons[0] == ("Diagnosis", "Bupa requires a diagnosis", 3)
    mine = selectors.not_ready_summary(practice=demo.practice, practitioner_id=demo.sample.pk)
    assert mine.count == 2


def _queries(client, url) -> int:
    client.get(url)  # anything due is checked and stored, sessions warmed
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


def test_the_view_and_the_dashboard_read_in_a_fixed_number_of_queries(demo, biller):
    for _ in range(3):
        demo.bill(diagnosis="")
    few = (_queries(biller, URL), _queries(biller, "/"))
    for n in range(57):  # more than a page
        demo.bill(diagnosis="", last="Clarke" if n % 2 else "Bennett", day=TODAY - dt.timedelta(days=n))
    assert (_queries(biller, URL), _queries(biller, "/")) == few
    older = re.search(r'<a href="([^"]+)" rel="next"', biller.get(URL).content.decode())
    assert older is not None and _queries(biller, "/invoices/" + unescape(older[1])) == few[0]


# The rows as healthcode/_not_ready.html rendered them before the not_ready_rows filter (issue 18).
OLD_ROWS = """<tbody>{% for invoice, result, fixes in rows %}
<tr>{% if can_bill %}<td><input type="checkbox" name="invoice" value="{{ invoice.id }}" aria-label="Select {% if invoice.number %}invoice {{ invoice.number }}{% else %}draft invoice for {{ invoice.patient.first_name }} {{ invoice.patient.last_name }}{% endif %}"></td>{% endif %}
<td>{{ invoice|invoice_ref }}</td>
<td class="nowrap">{{ invoice.invoice_date|date:"d/m/Y" }}</td>
<td>{{ invoice.patient.first_name }} {{ invoice.patient.last_name }}</td>
<td>{% if invoice.bill_to == 'insurer' %}{{ invoice.insurer_contact.name }}{% else %}Patient{% endif %}</td>
<td class="num">{{ invoice.total|gbp }}</td><td>{{ invoice|hc_badge }}</td>
<td class="why-cell"><ul class="why">{% for p in result.errors|slice:":3" %}<li><strong>{{ p.field }}</strong>: {{ p.error }}{% if p.fix == 'insurer' %}{% for fix in fixes %}{% if forloop.first %} — {% if fix.link %}<a href="{{ fix.link }}">{{ fix.link_label }}</a>{% else %}{{ fix.link_label }}{% endif %}{% endif %}{% endfor %}{% endif %}</li>{% endfor %}{% if result.errors|length > 3 %}<li class="muted">and {{ result.errors|length|add:"-3" }} more</li>{% endif %}</ul></td>
</tr>{% endfor %}</tbody>"""


@pytest.mark.parametrize("can_bill", [True, False])
@pytest.mark.parametrize("can_fix_insurers", [True, False])
def test_the_rows_are_the_markup_of_the_old_row_template(demo, can_bill, can_fix_insurers):
    from django.template import Context, Template

    from openpractice.healthcode.models import InvoiceCheckProblem
    from openpractice.patients.models import Patient

    Patient.objects.filter(practice=demo.practice, last_name="Clarke").update(first_name="O'Neil <b>")
    plain = demo.bill(diagnosis="")
    many = demo.bill(diagnosis="", last="Clarke")
    draft = demo.bill(diagnosis="", issue=False)
    stored_checks.refresh(practice=demo.practice)
    for position, (field, fix) in enumerate(
        [("Insurer", "insurer"), ("Diag & co", "invoice"), ("Insurer", "insurer"), ("Extra", "invoice")], start=50
    ):
        InvoiceCheckProblem.objects.create(
            stored_check_id=many.pk, position=position, code="x", field=field, message=f"<{field}> wrong", fix=fix
        )
    who = "owner@" if can_fix_insurers else "billing@"  # only the owner may set an insurer's identifier
    membership = Membership.objects.get(practice=demo.practice, user__email__startswith=who)
    page = selectors.not_ready_page(practice=demo.practice, limit=50)
    rows = [
        (
            r.invoice,
            r,
            tags.problem_rows(r.invoice, [p for p in r.problems[:3] if p.fix == "insurer"], membership=membership),
        )
        for r in page.rows
    ]
    assert {r[0].pk for r in rows} == {plain.pk, many.pk, draft.pk} and any(len(r[1].errors) > 3 for r in rows)
    assert any(r[2] for r in rows) and not draft.number
    context = Context({"rows": rows, "can_bill": can_bill})
    old = Template(OLD_ROWS).render(context)
    new = Template("{% load healthcode %}<tbody>\n{{ rows|not_ready_rows:can_bill }}</tbody>").render(context)

    def squeezed(html: str) -> str:
        return re.sub(r">\s+<", "><", html.strip())

    assert squeezed(new) == squeezed(old)
    assert "O&#x27;Neil &lt;b&gt;" in new and "&lt;Insurer&gt; wrong" in new and "and 2 more" in new
    assert ("Set the insurer&#x27;s Healthcode identifier</a>" in new) == can_fix_insurers
