"""/api/v1/integrations/healthcode: the practice's Healthcode credentials and their connection
test, the same rules and permission as Settings › Integrations."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from ninja import Router, Schema, Status
from pydantic import Field, field_validator

from openpractice.healthcode import services
from openpractice.healthcode.credentials import save_healthcode_credentials
from openpractice.healthcode.errors import HealthcodeSetupError
from openpractice.healthcode.models import HealthcodeEnvironment, HealthcodeIntegration
from openpractice.practices.api_auth import auth_for
from openpractice.practices.roles import Capability
from openpractice.practices.validators import SITE_ID

# Tagged as before the move, so the API documentation groups these routes where it did.
router = Router(tags=["practice"])


class HealthcodeOut(Schema):
    environment: str
    discovery_url: str
    site_id: str
    api_key_id: str
    api_key_set: bool = Field(description="Whether a key is stored. The key itself is never returned.")
    api_key_set_at: datetime | None
    last_tested_at: datetime | None
    last_test_ok: bool | None
    last_test_message: str


class HealthcodeIn(Schema):
    environment: HealthcodeEnvironment
    discovery_url: str = Field(
        "",
        max_length=500,
        description="Blank for the environment's documented "
        "address; otherwise on Healthcode's, the sandbox's or an allowed host",
    )
    site_id: str = Field(..., description="Such as HC16190")
    api_key_id: str = Field(..., min_length=1, max_length=200)
    api_key: str | None = Field(
        None,
        min_length=1,
        description="Omit to keep the key already stored (not when "
        "the environment, discovery URL or API key id changes).",
    )

    @field_validator("site_id")
    @classmethod
    def _site_id(cls, value: str) -> str:
        value = value.strip().upper()
        if not SITE_ID.match(value):
            raise ValueError("Enter the Site ID Healthcode gave you: two letters then digits, such as HC16190.")
        return value


class HealthcodeTestStep(Schema):
    name: str
    ok: bool
    detail: str


class HealthcodeTestOut(Schema):
    ok: bool
    message: str
    steps: list[HealthcodeTestStep]


def _healthcode_out(i: HealthcodeIntegration) -> dict:
    return {
        "environment": i.environment,
        "discovery_url": i.discovery_url,
        "site_id": i.site_id,
        "api_key_id": i.api_key_id,
        "api_key_set": i.api_key_is_set,
        "api_key_set_at": i.api_key_set_at,
        "last_tested_at": i.last_tested_at,
        "last_test_ok": i.last_test_ok,
        "last_test_message": i.last_test_message,
    }


# ninja names an operation after its module; these were practices', and clients may use the ids.
@router.get(
    "/integrations/healthcode",
    response={200: HealthcodeOut, 404: dict},
    auth=auth_for(Capability.MANAGE_INTEGRATIONS),
    operation_id="openpractice_practices_api_get_healthcode",
)
def get_healthcode(request):
    integration = services.integration_for(request.practice)
    if integration is None:
        return Status(404, {"detail": "Healthcode is not set up for this practice."})
    return Status(200, _healthcode_out(integration))


@router.post(
    "/integrations/healthcode/test",
    response={200: HealthcodeTestOut, 409: dict},
    auth=auth_for(Capability.MANAGE_INTEGRATIONS),
    summary="Test the Healthcode connection",
    operation_id="openpractice_practices_api_test_healthcode",
)
def test_healthcode(request):
    """Fetch the discovery document and a token and make one site-scoped call; the outcome is
    recorded on the integration (last_tested_at, last_test_ok, last_test_message)."""
    try:
        report = services.test_connection(practice=request.practice)
    except HealthcodeSetupError as exc:
        return Status(409, {"detail": exc.message})
    return Status(
        200,
        {
            "ok": report.ok,
            "message": report.message,
            "steps": [{"name": s.name, "ok": s.ok, "detail": s.detail} for s in report.steps],
        },
    )


@router.put(
    "/integrations/healthcode",
    response=HealthcodeOut,
    auth=auth_for(Capability.MANAGE_INTEGRATIONS),
    operation_id="openpractice_practices_api_put_healthcode",
)
def put_healthcode(request, payload: HealthcodeIn):
    with transaction.atomic():
        integration = save_healthcode_credentials(practice=request.practice, **payload.dict())
    return _healthcode_out(integration)
