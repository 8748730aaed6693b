"""An invoice's status badges and its link, as filters: `{{ invoice|record_badge }}`,
`{{ invoice|hc_badge }}`, `{{ invoice|pay_badge }}`, `{{ invoice|invoice_ref }}`, and the invoice
list's rows, `{{ rows|invoice_list_rows:can_bill }}` (a template builtin, see settings).

Each badge's HTML is built once per status when this module loads: the list shows 50 rows of
three badges, and an `{% include %}` with an if-chain per badge cost more than the page's SQL
(issue 18). The markup is the one the `_*_badge.html` includes give, which now use these too."""

from __future__ import annotations

import functools
from html import escape as html_escape

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from openpractice.billing.models import HealthcodeStatus, PaymentOutcome, RecordStatus
from openpractice.billing.money import format_gbp

register = template.Library()

_HC_TONE = {
    HealthcodeStatus.COLLECTED: "ok",
    HealthcodeStatus.VALIDATED: "ok",
    HealthcodeStatus.AWAITING_COLLECTION: "ok",
    HealthcodeStatus.FAILED: "danger",
    HealthcodeStatus.NOT_FOUND: "danger",
    HealthcodeStatus.QUEUED: "warn",
    HealthcodeStatus.UNPROCESSED: "warn",
    HealthcodeStatus.IN_PROCESS: "warn",
    HealthcodeStatus.UNSPECIFIED: "warn",
}
_RECORD_TONE = {RecordStatus.ISSUED: "info", RecordStatus.VOID: "danger"}
_PAY_TONE = {PaymentOutcome.PAID: "ok", PaymentOutcome.PART_PAID: "warn"}


def _badges(choices, tones: dict) -> dict[str, SafeString]:
    return {
        value: mark_safe(f'<span class="badge {tones.get(value, "")}">{escape(label)}</span>')
        for value, label in choices.choices
    }


HC_BADGES = _badges(HealthcodeStatus, _HC_TONE)
RECORD_BADGES = _badges(RecordStatus, _RECORD_TONE)
PAY_BADGES = _badges(PaymentOutcome, _PAY_TONE)


def _badge(badges: dict[str, SafeString], value) -> SafeString:
    found = badges.get(value)
    # A value the choices do not know (an old row) shows as itself, as get_FOO_display would.
    return found if found is not None else format_html('<span class="badge ">{}</span>', value)


@register.filter
def hc_badge(invoice) -> SafeString:
    return _badge(HC_BADGES, invoice.healthcode_status)


@register.filter
def record_badge(invoice) -> SafeString:
    return _badge(RECORD_BADGES, invoice.record_status)


@register.filter
def pay_badge(invoice) -> SafeString:
    return _badge(PAY_BADGES, invoice.payment_outcome)


_PLACEHOLDER = 987654321


@functools.lru_cache(maxsize=8)
def _detail_url_format(script_prefix: str) -> str:
    """The detail page's address with `{}` for the id: reversed once (per script prefix), not
    once per row of a list."""
    return reverse("billing:detail", args=[_PLACEHOLDER]).replace(str(_PLACEHOLDER), "{}")


@register.filter
def invoice_ref(invoice) -> SafeString:
    """An invoice's number as a link in a list; a draft has no number yet, and says so without a
    figure that reads like one."""
    url = _detail_url_format(get_script_prefix()).format(int(invoice.id))
    if invoice.number:
        return format_html('<a href="{}">{}</a>', url, invoice.number)
    return format_html('<a href="{}"><span class="draft-ref">— (draft)</span></a>', url)


@register.filter
def invoice_list_rows(rows, can_bill) -> SafeString:
    """The invoice list's table rows (billing/list.html), built here: fifty rows of eleven cells
    through the template engine cost about 0.3 ms a row, more than the page's SQL (issue 18).
    Every value is escaped (`html.escape`, what Django's `escape` runs without its check for a lazy
    string, which cost a third of this filter: the markup is held equal to the old row template's
    by tests); the cells are the ones the template had, with the Record column marked
    (`col-record`: a laptop's window leaves it out) and a void invoice's number saying so."""
    detail = _detail_url_format(get_script_prefix())
    # A page names a few insurers and practitioners many times: each escaped once.
    names: dict[str, str] = {}
    out = []
    for invoice in rows:
        patient = invoice.patient
        first, last = html_escape(str(patient.first_name)), html_escape(str(patient.last_name))
        number = html_escape(str(invoice.number)) if invoice.number else ""
        pk = int(invoice.id)
        select = ""
        if can_bill:
            what = f"invoice {number}" if number else f"draft invoice for {first} {last}"
            select = f'<td><input type="checkbox" name="invoice" value="{pk}" aria-label="Select {what}"></td>'
        href = html_escape(detail.format(pk))
        ref = (
            f'<a href="{href}">{number}</a>'
            if number
            else f'<a href="{href}"><span class="draft-ref">— (draft)</span></a>'
        )
        if invoice.record_status == RecordStatus.VOID:
            # Said again by the number, for a window too narrow for the Record column (billing.css).
            ref = f'{ref} <span class="badge danger record-when-narrow">Void</span>'
        if invoice.bill_to != "insurer":
            payer = "Patient"
        elif invoice.insurer_contact_id:
            name = str(invoice.insurer_contact.name)
            payer = names.get(name) or names.setdefault(name, html_escape(name))
        else:
            payer = ""
        if invoice.practitioner_id:
            name = str(invoice.practitioner.user.full_name)
            practitioner = names.get(name) or names.setdefault(name, html_escape(name))
        else:
            practitioner = ""
        out.append(
            f'<tr>{select}\n<td>{ref}</td>\n<td class="nowrap">{invoice.invoice_date.strftime("%d/%m/%Y")}</td>\n'
            f"<td>{first} {last}</td>\n<td>{payer}</td>\n<td>{practitioner}</td>\n"
            f'<td class="num">{html_escape(format_gbp(invoice.total))}</td>'
            f'<td class="num">{html_escape(format_gbp(invoice.balance))}</td>\n'
            f'<td class="col-record">{_badge(RECORD_BADGES, invoice.record_status)}</td>'
            f"<td>{_badge(HC_BADGES, invoice.healthcode_status)}</td>\n"
            f"<td>{_badge(PAY_BADGES, invoice.payment_outcome)}</td>\n</tr>"
        )
    return mark_safe("\n".join(out))
