"""{% invoice_remittances invoice %}: what the insurer's remittances said about an invoice, for
billing's invoice page (one include line there; the data comes from this app's selectors)."""

from django import template

from openpractice.remittances import selectors

register = template.Library()


@register.inclusion_tag("remittances/_invoice_panel.html", takes_context=True)
def invoice_remittances(context, invoice):
    request = context.get("request")
    practice = getattr(request, "practice", None)
    lines = selectors.remittance_for_invoice(practice=practice, invoice=invoice) if practice else []
    can_bill = bool(request and request.membership and request.membership.can("billing"))
    rows = [(line, selectors.transfer_of(line=line)) for line in lines]
    received = list(selectors.allocations(practice=practice).filter(patient_invoice=invoice)) if practice else []
    return {
        "rows": rows,
        "invoice": invoice,
        "can_bill": can_bill,
        "received": received,
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }
