"""Remittances' parts of billing's invoice page (one tag each there; the data comes from this
app's selectors, so billing never imports this app):

- `{% invoice_remittances invoice %}`: what the insurer's remittances said about the invoice;
- `{% invoice_remittance_payments invoice %}`: the ledger's rows (insurer payments, shortfalls
  moved to the patient) as rows of the invoice's payments table, beside billing's own payments.
  The ledger is the one record of them; billing's paid total counts the same rows."""

from django import template

from openpractice.billing.models import BillTo
from openpractice.remittances import selectors

register = template.Library()


@register.inclusion_tag("remittances/_invoice_panel.html", takes_context=True)
def invoice_remittances(context, invoice):
    request = context.get("request")
    practice = getattr(request, "practice", None)
    rows = selectors.remittance_with_transfers(practice=practice, invoice=invoice) if practice else []
    can_bill = bool(request and request.membership and request.membership.can("billing"))
    # The shortfalls this invoice carries: only a patient's invoice carries one (transfer_shortfall
    # bills the patient), so an insurer's is not asked (issue 18).
    received = (
        selectors.shortfalls_carried(practice=practice, invoice=invoice)
        if practice and invoice.bill_to == BillTo.PATIENT
        else []
    )
    return {
        "rows": rows,
        "invoice": invoice,
        "can_bill": can_bill,
        "received": received,
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("remittances/_payment_rows.html", takes_context=True)
def invoice_remittance_payments(context, invoice):
    practice = getattr(context.get("request"), "practice", None)
    rows = selectors.payments_for_invoice(practice=practice, invoice=invoice) if practice else []
    return {"rows": rows}
