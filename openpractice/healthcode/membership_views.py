"""Check membership from the patient's page: Find Member for one insurance relationship, the
answer shown as a message back on the page. The button itself is healthcode's template tag
(templatetags/healthcode_membership.py), so patients knows nothing of Healthcode."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from openpractice.healthcode import services
from openpractice.healthcode.errors import HealthcodeSetupError, SubmissionError
from openpractice.healthcode.membership import describe
from openpractice.patients.models import Patient, PatientRelationship
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404


@require_POST
@require_capability(Capability.VIEW_RECORDS)
def check_membership(request, patient_id: int, relationship_id: int):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    relationship = get_for_practice_or_404(
        PatientRelationship.objects.filter(patient=patient), request.practice, pk=relationship_id
    )
    try:
        check = services.check_membership(relationship=relationship)
    except HealthcodeSetupError as exc:
        messages.info(request, exc.message)
    except SubmissionError as exc:
        messages.error(request, exc.message)
    else:
        say = messages.success if check.outcome == "match" else messages.warning
        say(request, f"{relationship.related_contact.name}: {describe(check)}")
    return redirect("patients:detail", patient.id)
