"""Collections pages: a patient's account, the accounts owing. Thin: parse, call a selector or
service, render. Everything here needs manage_collections."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openpractice.patients.models import Patient
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.receivables import selectors, services
from openpractice.receivables.errors import ReceivablesError
from openpractice.receivables.forms import (
    AssignForm,
    DecideWriteOffForm,
    DisputeForm,
    NoteForm,
    PromiseForm,
    QueueFilterForm,
    ResolveForm,
    ReverseWriteOffForm,
    ScheduleForm,
    WriteOffForm,
)
from openpractice.receivables.models import ItemOutcome, WriteOff, WriteOffEntry
from openpractice.receivables.schedule import render_stage


def _page_number(request) -> int:
    try:
        return int(request.GET.get("page", "1"))
    except ValueError:
        return 1


@require_GET
@require_capability(Capability.MANAGE_COLLECTIONS)
def patient_account(request, patient_id: int):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    account = selectors.patient_account(practice=request.practice, patient=patient)
    activity = selectors.activity_of(practice=request.practice, patient_id=patient.pk)[:100]
    return render(
        request, "receivables/patient_account.html", {"patient": patient, "account": account, "activity": activity}
    )


@require_GET
@require_capability(Capability.MANAGE_COLLECTIONS)
def accounts_owing(request):
    page = selectors.accounts_owing(practice=request.practice, page=_page_number(request))
    return render(request, "receivables/accounts.html", {"page": page, "tab": "accounts"})


def _form_error(form, exc: ReceivablesError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@require_http_methods(["GET", "POST"])
@require_capability(Capability.MANAGE_COLLECTIONS)
def schedule_settings(request):
    """The chase schedule: Preview renders every stage with a real patient's data (nothing is
    saved); Save checks and saves it."""
    practice = request.practice
    patients = selectors.preview_patients(practice=practice)
    form = ScheduleForm(request.POST or None, stages=selectors.chase_schedule(practice=practice), patients=patients)
    previews = None
    if request.method == "POST" and form.is_valid():
        stages = form.cleaned_stages()
        try:
            services.check_schedule(stages)
            if request.POST.get("action") == "save":
                services.save_chase_schedule(practice=practice, stages=stages, user=request.user)
                messages.success(request, "Chase schedule saved.")
                return redirect("receivables:schedule")
        except ReceivablesError as exc:
            _form_error(form, exc)
        else:
            chosen = form.cleaned_data.get("preview_patient")
            patient = Patient.objects.filter(practice=practice, pk=chosen).first() if chosen else None
            if patient is not None:
                fields = selectors.merge_fields(practice=practice, patient=patient)
                previews = {"patient": patient, "stages": [render_stage(stage, fields) for stage in stages]}
    return render(
        request,
        "receivables/schedule.html",
        {"form": form, "previews": previews, "settings_tab": "collections", "has_patients": bool(patients)},
    )


@require_GET
@require_capability(Capability.MANAGE_COLLECTIONS)
def run_list(request):
    runs = selectors.chase_runs(practice=request.practice)[:50]
    return render(request, "receivables/runs.html", {"runs": runs, "tab": "runs"})


@require_POST
@require_capability(Capability.MANAGE_COLLECTIONS)
def run_now(request):
    run = services.create_chase_run(practice=request.practice, user=request.user)
    return redirect("receivables:run", run.pk)


@require_http_methods(["GET", "POST"])
@require_capability(Capability.MANAGE_COLLECTIONS)
def run_review(request, chase_run_id: int):
    """A run to review: every item ticked; the biller unticks what should not go and sends."""
    run = get_for_practice_or_404(selectors.chase_runs(practice=request.practice), request.practice, pk=chase_run_id)
    if request.method == "POST":
        include = {int(v) for v in request.POST.getlist("include") if v.isdigit()}
        try:
            counts = services.send_chase_run(run=run, include=include, user=request.user)
        except ReceivablesError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _sent_message(counts))
        return redirect("receivables:run", run.pk)
    return render(
        request,
        "receivables/run.html",
        {"run": run, "items": selectors.run_items(run=run), "tab": "runs"},
    )


def _sent_message(counts: dict[str, int]) -> str:
    emailed, letters = counts.get(ItemOutcome.EMAILED, 0), counts.get(ItemOutcome.TO_PRINT, 0)
    emails = counts.get("emails", 0)  # one per patient, however many of their debts it names
    said = [
        f"{emails} email{'s' if emails != 1 else ''} sent" + (f" ({emailed} debts)" if emailed != emails else ""),
        f"{letters} letter{'s' if letters != 1 else ''} to print",
    ]
    if left := counts.get(ItemOutcome.SKIPPED, 0):
        said.append(f"{left} left out")
    if gone := counts.get(ItemOutcome.NOT_DUE, 0):
        said.append(f"{gone} no longer due")
    return "Chase run sent: " + ", ".join(said) + "."


@require_GET
@require_capability(Capability.MANAGE_COLLECTIONS)
def run_letters(request, chase_run_id: int):
    """The run's letters, one a page, for printing."""
    run = get_for_practice_or_404(selectors.chase_runs(practice=request.practice), request.practice, pk=chase_run_id)
    return render(request, "receivables/letters.html", {"run": run, "letters": selectors.run_letters(run=run)})


@require_GET
@require_capability(Capability.MANAGE_COLLECTIONS)
def work_queue(request):
    practice = request.practice
    collectors = selectors.collectors(practice=practice)
    filters = QueueFilterForm(request.GET or None, collectors=collectors)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    page = selectors.work_queue(
        practice=practice,
        stage=chosen.get("stage") or "",
        assigned=chosen.get("assigned") or "",
        overdue_only=bool(chosen.get("overdue")),
        page=_page_number(request),
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "receivables/queue.html",
        {"page": page, "filters": filters, "query": query.urlencode(), "tab": "queue"},
    )


DEBT_ACTIONS = {
    "assign": AssignForm,
    "note": NoteForm,
    "promise": PromiseForm,
    "dispute": DisputeForm,
    "resolve": ResolveForm,
    "write_off": WriteOffForm,
    "decide": DecideWriteOffForm,
    "reverse": ReverseWriteOffForm,
}
# Deciding and reversing a write-off is the owner's (approve_write_offs), asking for one a biller's.
NEEDS_APPROVER = {"decide", "reverse"}
DONE = {
    "assign": "Assignment saved.",
    "note": "Note added.",
    "promise": "Promise to pay recorded: the chase pauses until then.",
    "dispute": "Dispute recorded: the chase pauses until it is resolved.",
    "resolve": "Dispute resolved: the chase carries on.",
    "write_off": "Write-off asked for: it waits for the owner's approval.",
    "decide": "Write-off decided.",
    "reverse": "Write-off reversed: the patient owes it again.",
}


def _act(action: str, invoice, data: dict, user):
    if action == "assign":
        return services.assign_debt(
            invoice=invoice, assignee_id=int(data["assignee"]) if data["assignee"] else None, by=user
        )
    if action == "note":
        return services.add_note(invoice=invoice, text=data["note"], by=user)
    if action == "promise":
        return services.promise_to_pay(invoice=invoice, until=data["until"], amount=data["amount"], by=user)
    if action == "dispute":
        return services.dispute_debt(invoice=invoice, reason=data["reason"], by=user)
    if action == "write_off":
        return services.request_write_off(
            invoice=invoice, amount=data["amount"], reason=data["write_off_reason"], by=user
        )
    if action == "decide":
        asked = get_for_practice_or_404(WriteOff, invoice.practice, pk=data["write_off"], invoice=invoice)
        if data["decision"] == "approve":
            return services.approve_write_off(write_off=asked, by=user)
        return services.decline_write_off(write_off=asked, by=user)
    if action == "reverse":
        entry = get_for_practice_or_404(WriteOffEntry, invoice.practice, pk=data["entry"], invoice=invoice)
        return services.reverse_write_off(entry=entry, reason=data["reverse_reason"], by=user)
    return services.resolve_dispute(invoice=invoice, outcome=data["outcome"], by=user)


@require_http_methods(["GET", "POST"])
@require_capability(Capability.MANAGE_COLLECTIONS)
def debt_detail(request, invoice_id: int):
    """One debt: its chase, who works it, notes, a promise to pay or a dispute (each recorded on
    the account's activity). Each section is its own small form; a refused one is shown again
    with the field named."""
    practice = request.practice
    invoice = selectors.patient_invoice(practice=practice, invoice_id=invoice_id)
    collectors = selectors.collectors(practice=practice)

    def blank(action: str):
        cls = DEBT_ACTIONS[action]
        return cls(collectors=collectors) if action == "assign" else cls()

    forms = {action: blank(action) for action in DEBT_ACTIONS}
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in DEBT_ACTIONS:
            messages.error(request, "Choose what to record: assign, note, promise to pay or dispute.")
            return redirect("receivables:debt", invoice.pk)
        if action in NEEDS_APPROVER and not request.membership.can(Capability.APPROVE_WRITE_OFFS):
            raise PermissionDenied("Only the owner can approve or reverse a write-off.")
        cls = DEBT_ACTIONS[action]
        form = cls(request.POST, collectors=collectors) if action == "assign" else cls(request.POST)
        forms[action] = form
        if form.is_valid():
            try:
                _act(action, invoice, form.cleaned_data, request.user)
            except ReceivablesError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, DONE[action])
                return redirect("receivables:debt", invoice.pk)
    view = selectors.debt_view(practice=practice, invoice=invoice)
    asked, entries = selectors.write_offs_of(practice=practice, invoice_id=invoice.pk)
    if view.debt is not None and not forms["assign"].is_bound:
        forms["assign"] = AssignForm(initial={"assignee": view.debt.assigned_to_id or ""}, collectors=collectors)
    return render(
        request,
        "receivables/debt.html",
        {
            "view": view,
            "invoice": invoice,
            "forms": forms,
            "activity": selectors.activity_of(practice=practice, invoice_id=invoice.pk)[:100],
            "write_offs": asked,
            "entries": entries,
            "can_approve": request.membership.can(Capability.APPROVE_WRITE_OFFS),
            "tab": "queue",
        },
    )
