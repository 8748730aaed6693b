"""The JSON API at /api/v1/, assembled from each app's router. OpenAPI docs at /api/v1/docs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import DataError
from django.http import Http404
from ninja import NinjaAPI

from openpractice.accounts.api import router as accounts_router
from openpractice.audit.api import router as audit_router
from openpractice.billing.api import router as billing_router
from openpractice.bureaus.api import router as bureaus_router
from openpractice.card_payments.api import router as card_payments_router
from openpractice.coding.api import router as coding_router
from openpractice.contacts.api import router as contacts_router
from openpractice.domain_errors import DomainError
from openpractice.healthcode.api import router as healthcode_router
from openpractice.healthcode.membership_api import router as healthcode_membership_router
from openpractice.healthcode.settings_api import router as healthcode_settings_router
from openpractice.imports.api import router as imports_router
from openpractice.patients.api import router as patients_router
from openpractice.practices.api import router as practices_router
from openpractice.practices.api_auth import API_AUTH
from openpractice.products.api import router as products_router
from openpractice.receivables.api import router as receivables_router
from openpractice.remittances.api import router as remittances_router
from openpractice.reports.api import router as reports_router
from openpractice.reports.consultant_api import router as consultant_reports_router

api = NinjaAPI(
    title="OpenPractice API",
    version="1",
    description=(
        "Practice-scoped JSON API. Authenticate with a per-user token "
        "(`Authorization: Bearer op_…`, made under Your account > API tokens) or a browser session."
    ),
    auth=API_AUTH,
    urls_namespace="api",
    docs_decorator=login_required,
)


@api.exception_handler(DomainError)
def domain_error_response(request, exc: DomainError):
    """Every app's domain error (they share one base): 422 naming the field, like a pydantic
    validation error; a refused submission lists each problem of its check (SubmissionError)."""
    return api.create_response(request, {"detail": exc.api_detail()}, status=422)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(OverflowError)
def number_out_of_range(request, exc):
    # An id or count too large for the database's integers: the caller's mistake, not a server error.
    return api.create_response(
        request,
        {
            "detail": [
                {
                    "loc": ["body"],
                    "type": "out_of_range",
                    "msg": "A number is out of range: ids and counts must be whole numbers below 9223372036854775808.",
                }
            ]
        },
        status=422,
    )


@api.exception_handler(DataError)
def data_out_of_range(request, exc):
    return number_out_of_range(request, exc)


@api.exception_handler(PermissionDenied)
def forbidden(request, exc):
    return api.create_response(request, {"detail": str(exc) or "Forbidden."}, status=403)


api.add_router("/", practices_router)
api.add_router("/", healthcode_settings_router)
api.add_router("/", accounts_router)
api.add_router("/", coding_router)
api.add_router("/", contacts_router)
api.add_router("/", products_router)
api.add_router("/", patients_router)
api.add_router("/", healthcode_membership_router)
api.add_router("/", billing_router)
api.add_router("/", healthcode_router)  # after billing's: its /invoices/… operations follow billing's in the docs
api.add_router("/", remittances_router)
api.add_router("/", receivables_router)
api.add_router("/", card_payments_router)
api.add_router("/", reports_router)
api.add_router("/", consultant_reports_router)
api.add_router("/", audit_router)
api.add_router("/", bureaus_router)
api.add_router("/", imports_router)
