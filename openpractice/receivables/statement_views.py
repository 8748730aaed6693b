"""Statement pages: one patient's statement (download, email) and runs of many (started from the
accounts owing page, their progress, their PDF for posting). Thin: parse, call statements, render.
Everything here needs manage_collections; another practice's patient or run is a 404."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from openpractice.patients.models import Patient
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.receivables import statements
from openpractice.receivables.errors import ReceivablesError
from openpractice.receivables.models import Channel, StatementRun


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@require_capability(Capability.MANAGE_COLLECTIONS)
def statement_download(request, patient_id: int):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    statement, pdf = statements.statement_pdf(practice=request.practice, patient=patient)
    return _pdf(pdf, statement.filename)


@require_POST
@require_capability(Capability.MANAGE_COLLECTIONS)
def statement_send(request, patient_id: int):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    try:
        statements.send_statement(practice=request.practice, patient=patient, user=request.user)
    except ReceivablesError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Statement emailed to {patient.email}.")
    return redirect("receivables:patient_account", patient.pk)


def _chosen_patients(request) -> list[int]:
    """The patients ticked on the accounts owing page, or all who match "owing over £X / older
    than N days" (`choose=matching`)."""
    if request.POST.get("choose") == "matching":
        try:
            over = Decimal(request.POST.get("over") or "0")
            older = int(request.POST.get("older_than") or "0")
        except (InvalidOperation, ValueError):
            raise ReceivablesError(
                "Owing over: an amount in pounds, such as 50; older than: a number of days.", field="over"
            ) from None
        if over < 0 or older < 0 or older > 3650 or not over.is_finite():
            raise ReceivablesError("Owing over and older than: zero or more.", field="over")
        found = statements.owing_patient_ids(practice=request.practice, min_balance=over, older_than_days=older)
        if not found:
            raise ReceivablesError("No patient owes more than that for that long.", field="over", code="required")
        return found
    return [int(v) for v in request.POST.getlist("patients") if v.isdigit()]


@require_POST
@require_capability(Capability.MANAGE_COLLECTIONS)
def statement_run_start(request):
    try:
        run = statements.start_statement_run(
            practice=request.practice, patient_ids=_chosen_patients(request), user=request.user
        )
    except ReceivablesError as exc:
        messages.error(request, exc.message)
        return redirect("receivables:accounts")
    return redirect("receivables:statement_run", run.pk)


def _run(request, run_id: int) -> StatementRun:
    return get_for_practice_or_404(StatementRun, request.practice, pk=run_id)


@require_GET
@require_capability(Capability.MANAGE_COLLECTIONS)
def statement_run(request, statement_run_id: int):
    return render(
        request,
        "receivables/statements/run.html",
        {"run": _run(request, statement_run_id), "tab": "accounts", "merged_up_to": statements.MERGED_UP_TO},
    )


@require_GET
@require_capability(Capability.MANAGE_COLLECTIONS)
def statement_run_progress(request, statement_run_id: int):
    return render(
        request,
        "receivables/statements/_progress.html",
        {"run": _run(request, statement_run_id), "merged_up_to": statements.MERGED_UP_TO},
    )


@require_GET
@require_capability(Capability.MANAGE_COLLECTIONS)
def statement_run_pdf(request, statement_run_id: int):
    """Every statement of the run, or (`?post=1`) those to post: one PDF, or a zip of PDFs for many."""
    run = _run(request, statement_run_id)
    post = request.GET.get("post") == "1"
    content, filename, kind = statements.run_download(run=run, channel=Channel.LETTER if post else None)
    response = HttpResponse(content, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
