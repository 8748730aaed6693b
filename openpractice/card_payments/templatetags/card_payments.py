"""Card payments' parts on other apps' pages (those apps never import this one): the Stripe card on
Settings › Integrations, the "Pay online" link on the invoice (and its PDF), and the patient's card
payments on their account page."""

from __future__ import annotations

from django import template

from openpractice.billing.models import BillTo, RecordStatus
from openpractice.card_payments import links, selectors
from openpractice.practices.roles import Capability

register = template.Library()


def _base_url(context) -> str | None:
    request = context.get("request")
    return request.build_absolute_uri("/") if request is not None else None


@register.inclusion_tag("card_payments/_integration_card.html", takes_context=True)
def stripe_integration_card(context):
    practice = context["request"].practice
    return {
        "integration": selectors.integration_for(practice),
        "events": selectors.recent_events(practice=practice, limit=5),
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag(takes_context=True)
def pay_online_url(context, patient, invoice=None) -> str:
    """The patient's "Pay online" link (for one invoice when given), or "" when the practice takes
    no card payments online."""
    practice_id = patient.practice_id
    integration = selectors.integration_for(practice_id)
    if not selectors.is_ready(integration):
        return ""
    return links.pay_url(
        practice_id=practice_id,
        patient_id=patient.pk,
        invoice_id=invoice.pk if invoice is not None else None,
        base_url=_base_url(context),
    )


@register.inclusion_tag("card_payments/_pay_link.html", takes_context=True)
def invoice_pay_link(context, invoice):
    """On a patient's issued invoice that still owes: the link to pay it by card."""
    if invoice.bill_to != BillTo.PATIENT or invoice.record_status != RecordStatus.ISSUED or invoice.balance <= 0:
        return {"url": ""}
    return {"url": pay_online_url(context, invoice.patient, invoice)}


@register.inclusion_tag("card_payments/_patient_card_payments.html", takes_context=True)
def patient_card_payments(context, patient):
    request = context["request"]
    membership = getattr(request, "membership", None)
    return {
        "request": request,
        "patient": patient,
        "pay_url": pay_online_url(context, patient),
        "payments": list(selectors.payments_of_patient(practice=request.practice, patient_id=patient.pk)[:50]),
        "can_refund": membership is not None and membership.can(Capability.BILLING),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("card_payments/_invoice_refund_rows.html")
def invoice_card_refunds(invoice):
    """Rows for billing's payments list: what card refunds took back from this invoice (they count
    against its paid total, like the payments above them count for it)."""
    return {"refunds": selectors.refunds_on_invoice(invoice_id=invoice.pk)}
