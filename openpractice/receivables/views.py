"""Collections pages: a patient's account, the accounts owing. Thin: parse, call a selector or
service, render. Everything here needs manage_collections."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from openpractice.patients.models import Patient
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.receivables import selectors


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
