"""The badge filters (billing/templatetags/invoice_badges.py) give the markup the include
templates' if-chains gave, for every status; and the invoice link is the detail page's."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import reverse

from openpractice.billing.models import HealthcodeStatus, Invoice, PaymentOutcome, RecordStatus

# The include templates as they were before the filters (issue 18).
OLD_HC = (
    "{% with s=invoice.healthcode_status %}<span class=\"badge {% if s == 'collected' or s == 'validated' or "
    "s == 'awaiting_collection' %}ok{% elif s == 'failed' or s == 'not_found' %}danger{% elif s == 'queued' or "
    "s == 'unprocessed' or s == 'in_process' or s == 'unspecified' %}warn{% endif %}\">"
    "{{ invoice.get_healthcode_status_display }}</span>{% endwith %}"
)
OLD_RECORD = (
    "<span class=\"badge {% if invoice.record_status == 'issued' %}info{% elif invoice.record_status == 'void' %}"
    'danger{% endif %}">{{ invoice.get_record_status_display }}</span>'
)
OLD_PAY = (
    "<span class=\"badge {% if invoice.payment_outcome == 'paid' %}ok{% elif invoice.payment_outcome == 'part_paid' %}"
    'warn{% endif %}">{{ invoice.get_payment_outcome_display }}</span>'
)


def _render(text: str, invoice: Invoice) -> str:
    return Template(text).render(Context({"invoice": invoice}))


@pytest.mark.parametrize(
    ("field", "choices", "old", "new"),
    [
        ("healthcode_status", HealthcodeStatus, OLD_HC, "{{ invoice|hc_badge }}"),
        ("record_status", RecordStatus, OLD_RECORD, "{{ invoice|record_badge }}"),
        ("payment_outcome", PaymentOutcome, OLD_PAY, "{{ invoice|pay_badge }}"),
    ],
)
def test_each_badge_is_the_markup_of_the_old_include(field, choices, old, new):
    for value in [*choices.values, "something_new"]:
        invoice = Invoice(**{field: value})
        assert _render(new, invoice) == _render(old, invoice), value


@pytest.mark.django_db
def test_the_invoice_link_is_the_detail_page():
    numbered, draft = Invoice(id=42, number="INV0042"), Invoice(id=7, number="")
    assert (
        _render("{{ invoice|invoice_ref }}", numbered)
        == f'<a href="{reverse("billing:detail", args=[42])}">INV0042</a>'
    )
    assert 'class="draft-ref"' in _render("{{ invoice|invoice_ref }}", draft)
    assert reverse("billing:detail", args=[7]) in _render("{{ invoice|invoice_ref }}", draft)


# The list's rows as billing/list.html rendered them before invoice_list_rows (issue 18), with the
# Record column's class and a void invoice's marker by its number (the list at 1366 wide).
OLD_ROWS = """<tbody>{% for invoice in rows %}
<tr>{% if can_bill %}<td><input type="checkbox" name="invoice" value="{{ invoice.id }}" aria-label="Select {% if invoice.number %}invoice {{ invoice.number }}{% else %}draft invoice for {{ invoice.patient.first_name }} {{ invoice.patient.last_name }}{% endif %}"></td>{% endif %}
<td>{{ invoice|invoice_ref }}{% if invoice.record_status == "void" %} <span class="badge danger record-when-narrow">Void</span>{% endif %}</td>
<td class="nowrap">{{ invoice.invoice_date|date:"d/m/Y" }}</td>
<td>{{ invoice.patient.first_name }} {{ invoice.patient.last_name }}</td>
<td>{% if invoice.bill_to == 'insurer' %}{{ invoice.insurer_contact.name }}{% else %}Patient{% endif %}</td>
<td>{{ invoice.practitioner.user.full_name }}</td>
<td class="num">{{ invoice.total|gbp }}</td><td class="num">{{ invoice.balance|gbp }}</td>
<td class="col-record">{{ invoice|record_badge }}</td><td>{{ invoice|hc_badge }}</td>
<td>{{ invoice|pay_badge }}</td>
</tr>{% endfor %}</tbody>"""


@pytest.mark.django_db
@pytest.mark.parametrize("can_bill", [True, False])
def test_the_list_rows_are_the_markup_of_the_old_row_template(practice, can_bill):
    import re

    from openpractice.billing.selectors import invoice_page
    from openpractice.patients.models import Patient
    from tests.list_world import build_world

    build_world(practice, invoices=40, patients=6)
    # Names that must be escaped, as the template escaped them.
    Patient.objects.filter(practice=practice, pk=Patient.objects.filter(practice=practice).first().pk).update(
        first_name="O'Neil <b>", last_name="Smith & Co"
    )
    rows = invoice_page(practice=practice).rows
    assert any(r.patient.first_name == "O'Neil <b>" for r in rows)
    draft = next((i for i in rows if not i.number), None)
    assert draft is not None and any(i.number for i in rows)  # both kinds of link are compared
    old = Template(OLD_ROWS).render(Context({"rows": rows, "can_bill": can_bill}))
    new = Template("<tbody>\n{{ rows|invoice_list_rows:can_bill }}</tbody>").render(
        Context({"rows": rows, "can_bill": can_bill})
    )

    def squeezed(html: str) -> str:
        return re.sub(r">\s+<", "><", html.strip())

    assert squeezed(new) == squeezed(old)
