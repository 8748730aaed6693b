"""Collections' part of the patient page (patients never imports this app): the patient's
balance and a link to their account, for whoever can chase what patients owe."""

from django import template

from openpractice.practices.roles import Capability
from openpractice.receivables import selectors

register = template.Library()


@register.inclusion_tag("receivables/_patient_account_link.html", takes_context=True)
def patient_account_link(context, patient):
    request = context.get("request")
    membership = getattr(request, "membership", None)
    if membership is None or not membership.can(Capability.MANAGE_COLLECTIONS):
        return {"show": False}
    balance = selectors.patient_balance(practice=request.practice, patient_id=patient.pk)
    return {"show": True, "patient": patient, "balance": balance, "credit": -balance}


@register.inclusion_tag("receivables/_dispute_link.html", takes_context=True)
def insurer_dispute_link(context, verdict):
    """On remittances' shortfalls page: an underpayment's link to its dispute, for whoever chases debts."""
    request = context.get("request")
    membership = getattr(request, "membership", None)
    return {"show": membership is not None and membership.can(Capability.MANAGE_COLLECTIONS), "verdict": verdict}
