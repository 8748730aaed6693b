"""Healthcode's parts of billing's invoice pages, rendered from this app's selectors so billing
knows nothing of Healthcode (its templates `{% load healthcode %}` and place one tag per part,
as the invoice page does with the remittances panel):

- `{% invoice_healthcode_status invoice %}`: the status badge;
- `{% invoice_healthcode_in_motion invoice as moving %}`: whether the bill is on its way (its
  status will change by itself), so the invoice page keeps polling (billing's `_live.html`);
- `{% invoice_healthcode invoice %}`: the invoice page's Healthcode panel (the pre-submission
  check with fix links, submit / refresh / cancel, asking the insurer about the membership,
  Healthcode's errors and the submissions);
- `{% invoice_list_submit_all filters shown page_full %}` and `{% invoice_list_submit_selected %}`:
  the invoice list's bulk submission;
- `{% invoices_not_ready %}`: the list's "Not ready to submit" view.

Everything here reads: opening a page never calls the clearing house or writes (the membership
check is a button, views.invoice_check_membership)."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from openpractice.billing import selectors as billing_selectors
from openpractice.billing.models import HealthcodeStatus, RecordStatus
from openpractice.billing.templatetags.invoice_badges import hc_badge, invoice_ref
from openpractice.billing.templatetags.money import gbp
from openpractice.healthcode import selectors, services, stored_checks
from openpractice.healthcode import submission as hc
from openpractice.healthcode.checking import check_invoice
from openpractice.practices.roles import Capability

register = template.Library()

NOT_READY_PAGE_SIZE = 50  # bills on a page of the "Not ready to submit" view

FIX_LINKS = {
    "invoice": lambda i: reverse("billing:edit", args=[i.pk]),
    "patient": lambda i: reverse("patients:edit", args=[i.patient_id]) + "#relationships",
    "practitioner": lambda i: reverse("practices:practitioner_profile", args=[i.practitioner_id]),
    "product": lambda i: reverse("products:list"),
    "location": lambda i: reverse("practices:location_list"),
    "insurer": lambda i: _insurer_fix_link(i),
    "coding": lambda i: reverse("coding:settings"),
}
FIX_LABELS = {
    "invoice": "Edit invoice",
    "patient": "Edit patient",
    "practitioner": "Edit practitioner",
    "product": "Products",
    "location": "Locations",
    "insurer": "Set the insurer's Healthcode identifier",
    "coding": "Code sets",
}


def _insurer_fix_link(invoice) -> str:
    """Straight to the identifier field of the insurer's directory entry, coming back to the
    invoice once saved; the contact's own page only when the contact names no directory entry."""
    contact = invoice.insurer_contact if invoice.insurer_contact_id else None
    if contact is None:
        return reverse("billing:edit", args=[invoice.pk])
    if contact.insurer_id is None:
        return reverse("contacts:edit", args=[contact.pk])
    back = urlencode({"focus": "identifier", "next": reverse("billing:detail", args=[invoice.pk])})
    return f"{reverse('coding:insurer_edit', args=[contact.insurer_id])}?{back}#id_healthcode_identifier"


# Who can fix it, for a person whose role cannot (the insurer directory needs manage_settings).
NEEDS_CAPABILITY = {"insurer": (Capability.MANAGE_SETTINGS, "A practice owner or administrator can set it")}


def problem_rows(invoice, problems, *, membership=None) -> list[dict]:
    """Each problem of the check with a link to the page that fixes it (or, when `membership`'s
    role cannot open that page, who can)."""
    rows = []
    for p in problems:
        link = FIX_LINKS.get(p.fix, FIX_LINKS["invoice"])(invoice)
        if p.fix == "product" and p.line:
            line = next((line for line in invoice.lines.all() if line.sequence == p.line), None)
            if line is not None:
                link = reverse("products:edit", args=[line.product_id])
        label = FIX_LABELS.get(p.fix, "Fix")
        needed = NEEDS_CAPABILITY.get(p.fix)
        if needed and membership is not None and not membership.can(needed[0]):
            link, label = "", needed[1]
        rows.append({"problem": p, "link": link, "link_label": label})
    return rows


def _can_bill(request) -> bool:
    return bool(request and request.membership and request.membership.can(Capability.BILLING))


def _practice(context):
    return getattr(context.get("request"), "practice", None)


@register.inclusion_tag("healthcode/_hc_status.html")
def invoice_healthcode_status(invoice):
    return {"invoice": invoice}


@register.simple_tag
def invoice_healthcode_in_motion(invoice) -> bool:
    """Sent and not at a final status: the page polls until the bill settles."""
    return invoice.is_insurer_bill and invoice.healthcode_status not in (
        HealthcodeStatus.NOT_SUBMITTED,
        *hc.FINAL_STATUSES,
    )


@register.inclusion_tag("healthcode/_invoice_panel.html", takes_context=True)
def invoice_healthcode(context, invoice):
    request = context.get("request")
    practice = _practice(context)
    if practice is None or not invoice.is_insurer_bill or invoice.record_status == RecordStatus.VOID:
        return {"invoice": invoice}
    resubmittable = invoice.healthcode_status in hc.RESUBMITTABLE
    # The panel shows the pre-submission check only while the bill can be (re)submitted: a bill on
    # its way or settled (collected, paid) is not checked at all (issue 18: the live check was a
    # third of the invoice page's time, for nothing the page shows). A bill that could go now
    # reads its stored check (checked again first only when due), as the "Not ready" view does;
    # any other resubmittable bill (cancelled, not found) has none kept up to date: checked here.
    check = (
        None
        if not resubmittable
        else stored_checks.stored_result(invoice=invoice)
        if stored_checks.is_candidate(invoice)
        else check_invoice(invoice=invoice)
    )
    problems = check.problems if check is not None else []
    submissions = selectors.submissions_with_events(practice=practice, invoice=invoice)
    current = submissions[0] if submissions else None
    ready = services.is_configured(practice=practice)
    return {
        "invoice": invoice,
        "check": check,
        "problem_rows": problem_rows(invoice, problems, membership=getattr(request, "membership", None)),
        "submissions": submissions,
        "current": current,
        "can_bill": _can_bill(request),
        "healthcode_ready": ready,
        "can_submit": bool(check is not None and check.passed),
        "can_cancel": bool(current and current.bill_id and current.healthcode_status in hc.CANCELLABLE),
        "resubmittable": resubmittable,
        "registration_problem": any(p.field == "RegistrationNo" and p.blocks for p in problems)
        or bool(current and any(e.get("field") == "RegistrationNo" for e in current.errors or [])),
        # The insurer keeps a member database and has not answered for these details yet: offer to
        # ask it (Find Member), where opening the page once asked by itself.
        "ask_member": bool(
            ready
            and resubmittable
            and invoice.is_editable
            and invoice.insurance_id
            and any(p.rule == "member-not-checked" for p in problems)
        ),
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("healthcode/_submit_all.html", takes_context=True)
def invoice_list_submit_all(context, filters, shown, page_full):
    """ "Select all N matching this filter and submit": offered when more match than the page shows
    (`page_full`: the list has other pages). Counted up to billing's COUNT_CAP whatever the page
    (a fixed cost: the list runs the same queries on every page); a search is not counted (its
    number or surname prefix would read thousands of rows). The confirmation counts them all."""
    request = context.get("request")
    can_bill = _can_bill(request)
    practice = _practice(context)
    searching = bool(filters.get("query"))
    matching = (
        billing_selectors.count_submittable(practice=practice, **filters)
        if can_bill and practice is not None and not searching
        else 0
    )
    return {
        "can_bill": can_bill,
        "offer": can_bill and page_full and (searching or matching > shown),
        "matching": None if searching else min(matching, billing_selectors.COUNT_CAP),
        "matching_capped": matching > billing_selectors.COUNT_CAP,
        "shown": shown,
        "filters": filters,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("healthcode/_submit_selected.html", takes_context=True)
def invoice_list_submit_selected(context):
    return {"can_bill": _can_bill(context.get("request"))}


def _why_cell(result, fixes) -> SafeString:
    """The "Why not ready" cell: the first three blocking problems, an insurer problem with the
    first insurer fix's link (or who can fix it), and how many more."""
    fix = ""
    if fixes:
        first = fixes[0]
        fix = (
            format_html(' — <a href="{}">{}</a>', first["link"], first["link_label"])
            if first["link"]
            else format_html(" — {}", first["link_label"])
        )
    errors = result.errors
    items = [
        format_html("<li><strong>{}</strong>: {}{}</li>", p.field, p.error, fix if p.fix == "insurer" else "")
        for p in errors[:3]
    ]
    if len(errors) > 3:
        items.append(format_html('<li class="muted">and {} more</li>', len(errors) - 3))
    return mark_safe(f'<td class="why-cell"><ul class="why">{"".join(items)}</ul></td>')


@register.filter
def not_ready_rows(rows, can_bill) -> SafeString:
    """The "Not ready to submit" view's table rows (`rows` as `invoices_not_ready` gives them),
    built here: fifty rows of a dozen cells and a loop of reasons through the template engine cost
    more than the view's SQL (issue 18). Every value is escaped by format_html; the cells are the
    ones the template had (tests hold the markup equal to the old row template's)."""
    out = []
    for invoice, result, fixes in rows:
        patient = invoice.patient
        select = ""
        if can_bill:
            what = (
                f"invoice {invoice.number}"
                if invoice.number
                else f"draft invoice for {patient.first_name} {patient.last_name}"
            )
            select = format_html(
                '<td><input type="checkbox" name="invoice" value="{}" aria-label="Select {}"></td>', invoice.id, what
            )
        payer = (
            (invoice.insurer_contact.name if invoice.insurer_contact_id else "")
            if invoice.bill_to == "insurer"
            else "Patient"
        )
        out.append(
            format_html(
                '<tr>{}\n<td>{}</td>\n<td class="nowrap">{}</td>\n<td>{} {}</td>\n<td>{}</td>\n'
                '<td class="num">{}</td><td>{}</td>\n{}\n</tr>',
                select,
                invoice_ref(invoice),
                invoice.invoice_date.strftime("%d/%m/%Y"),
                patient.first_name,
                patient.last_name,
                payer,
                gbp(invoice.total),
                hc_badge(invoice),
                _why_cell(result, fixes),
            )
        )
    return mark_safe("\n".join(out))


@register.inclusion_tag("healthcode/_not_ready.html", takes_context=True)
def invoices_not_ready(context):
    """The stored checks that fail, a page at a time (`?after=YYYY-MM-DD.id`), with the number of
    bills still being checked again. Bills due a check are checked first when few (stored_checks.refresh:
    the one write this view makes, to its own stored answers)."""
    request = context.get("request")
    practice = _practice(context)
    if practice is None:
        return {"rows": [], "count": 0}
    filters = context.get("filters") or {}  # the invoice list's, read from its GET: a practitioner's own
    practitioner_id = filters.get("practitioner_id")
    bad_cursor = False
    try:
        after = selectors.parse_cursor(request.GET.get("after") if request else None)
    except selectors.BadCursor:
        after, bad_cursor = None, True
    rechecking = stored_checks.refresh(practice=practice, practitioner_id=practitioner_id)
    page = selectors.not_ready_page(
        practice=practice, practitioner_id=practitioner_id, after=after, limit=NOT_READY_PAGE_SIZE
    )
    membership = getattr(request, "membership", None)
    rows = [
        # The insurer's missing identifier is fixed in the directory, not on the invoice: its link here.
        (
            row.invoice,
            row,
            problem_rows(row.invoice, [p for p in row.problems[:3] if p.fix == "insurer"], membership=membership),
        )
        for row in page.rows
    ]
    base = {"view": "not_ready", **({"practitioner": practitioner_id} if practitioner_id else {})}
    return {
        "rows": rows,
        "count": page.count,
        "rechecking": rechecking,
        "bad_cursor": bad_cursor,
        "paged": after is not None,
        "first_url": f"?{urlencode(base)}",
        "next_url": f"?{urlencode({**base, 'after': page.next_cursor})}" if page.next_cursor else "",
        "can_bill": _can_bill(request),
        "csrf_token": context.get("csrf_token"),
    }
