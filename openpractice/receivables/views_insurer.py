"""Collections' insurer pages: the insurer dispute list and one dispute (its letter to copy and
its steps), and the insurer debt list. Thin: parse, call disputes / insurer_debt, render. Every
page needs manage_collections; writing a dispute off needs approve_write_offs too."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.receivables import disputes, insurer_debt
from openpractice.receivables.errors import ReceivablesError
from openpractice.receivables.forms import DisputeFilterForm, DisputeNoteForm, DisputeReasonForm, InsurerDebtFilterForm


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@require_GET
@require_capability(Capability.MANAGE_COLLECTIONS)
def dispute_list(request):
    everyone = insurer_debt.insurers(practice=request.practice)
    filters = DisputeFilterForm(request.GET or None, insurers=everyone)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    page = disputes.dispute_page(
        practice=request.practice,
        status=chosen.get("status") or "open",
        insurer_id=chosen.get("insurer"),
        after=_int(request.GET.get("after")),
    )
    query = request.GET.copy()
    query.pop("after", None)
    return render(
        request,
        "receivables/disputes.html",
        {"page": page, "filters": filters, "query": query.urlencode(), "tab": "disputes"},
    )


ACTIONS = {
    "sent": (DisputeNoteForm, "Dispute marked as sent to the insurer."),
    "paid": (DisputeNoteForm, "Dispute resolved: the insurer pays the difference."),
    "patient": (DisputeReasonForm, "Dispute resolved as the patient's: the shortfall moved to the patient."),
    "write_off": (DisputeReasonForm, "Difference written off and entered in the write-off ledger."),
}


def _act(action: str, verdict, note: str, user):
    if action == "sent":
        return disputes.mark_sent(verdict=verdict, note=note, by=user)
    if action == "paid":
        return disputes.resolve_paid(verdict=verdict, note=note, by=user)
    if action == "patient":
        return disputes.resolve_as_patients(verdict=verdict, note=note, by=user)
    return disputes.resolve_written_off(verdict=verdict, note=note, by=user)


@require_http_methods(["GET", "POST"])
@require_capability(Capability.MANAGE_COLLECTIONS)
def dispute_detail(request, verdict_id: int):
    """One underpayment: what to send the insurer (a letter to copy, an email to open) and the
    dispute's next steps, each its own small form."""
    verdict = disputes.dispute(practice=request.practice, verdict_id=verdict_id)
    forms = {action: cls(prefix=action) for action, (cls, _) in ACTIONS.items()}
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            messages.error(request, "Choose a step: sent, paid, the patient's or written off.")
            return redirect("receivables:dispute", verdict.pk)
        if action == "write_off" and not request.membership.can(Capability.APPROVE_WRITE_OFFS):
            raise PermissionDenied("Only someone who approves write-offs can write a dispute off.")
        cls, done = ACTIONS[action]
        form = forms[action] = cls(request.POST, prefix=action)
        if form.is_valid():
            try:
                _act(action, verdict, form.cleaned_data["note"], request.user)
            except ReceivablesError as exc:
                form.add_error("note", exc.message)
            else:
                messages.success(request, done)
                return redirect("receivables:dispute", verdict.pk)
    subject, body = disputes.dispute_letter(verdict=verdict, practice_name=request.practice.name)
    email = verdict.insurer_contact.email if verdict.insurer_contact else ""
    status = getattr(verdict, "dispute_status", "raised")
    return render(
        request,
        "receivables/dispute.html",
        {
            "verdict": verdict,
            "status": status,
            "status_label": disputes.DisputeStatus(status).label,
            "is_open": status in disputes.OPEN_DISPUTE,
            "subject": subject,
            "body": body,
            "mailto": f"mailto:{email}?subject={quote(subject)}&body={quote(body)}" if email else "",
            "forms": forms,
            "can_approve": request.membership.can(Capability.APPROVE_WRITE_OFFS),
            "tab": "disputes",
        },
    )


@require_GET
@require_capability(Capability.MANAGE_COLLECTIONS)
def dispute_letter_pdf(request, verdict_id: int):
    verdict = disputes.dispute(practice=request.practice, verdict_id=verdict_id)
    response = HttpResponse(
        disputes.letter_pdf(verdict=verdict, practice=request.practice), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="underpayment-{verdict.invoice.number}.pdf"'
    return response


@require_GET
@require_capability(Capability.MANAGE_COLLECTIONS)
def insurer_debt_list(request):
    everyone = insurer_debt.insurers(practice=request.practice)
    filters = InsurerDebtFilterForm(request.GET or None, insurers=everyone, ages=insurer_debt.AGES)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    page = insurer_debt.insurer_debt_page(
        practice=request.practice,
        insurer_id=chosen.get("insurer"),
        age=chosen.get("age") or "",
        after=request.GET.get("after"),
    )
    query = request.GET.copy()
    query.pop("after", None)
    return render(
        request,
        "receivables/insurer_debt.html",
        {"page": page, "filters": filters, "query": query.urlencode(), "tab": "insurers"},
    )
