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
