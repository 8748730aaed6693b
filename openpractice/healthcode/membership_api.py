"""/api/v1/patients/{id}/relationships/{id}/check-membership: Find Member from the API, the same
gate as the patient page's button."""

from __future__ import annotations

from ninja import Router, Status

from openpractice.healthcode import services
from openpractice.healthcode.errors import HealthcodeSetupError
from openpractice.patients.models import Patient, PatientRelationship
from openpractice.practices.api_auth import auth_for
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404

# Tagged as before the move, beside the patient routes in the API documentation.
router = Router(tags=["patients"])


@router.post(
    "/patients/{patient_id}/relationships/{relationship_id}/check-membership",
    response={409: dict},
    auth=auth_for(Capability.VIEW_RECORDS),
    operation_id="openpractice_patients_api_check_membership",
)  # the id it had in patients' module
def check_membership(request, patient_id: int, relationship_id: int):
    """Find Member at the clearing house (arrives with bill submission; says so until then)."""
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    relationship = get_for_practice_or_404(
        PatientRelationship.objects.filter(patient=patient), request.practice, pk=relationship_id
    )
    try:
        services.check_membership(relationship=relationship)
    except HealthcodeSetupError as exc:
        return Status(409, {"detail": exc.message, "code": exc.code})
    return Status(409, {"detail": "Not available.", "code": "not_available"})
