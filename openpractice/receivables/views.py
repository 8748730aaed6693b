"""Collections pages: a patient's account, the accounts owing. Thin: parse, call a selector or
service, render. Everything here needs manage_collections."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from openpractice.patients.models import Patient
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.receivables import selectors, services
from openpractice.receivables.errors import ReceivablesError
from openpractice.receivables.forms import ScheduleForm
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
    return render(request, "receivables/patient_account.html", {"patient": patient, "account": account})


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
