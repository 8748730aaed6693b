from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from openpractice.api import api

urlpatterns = [
    path("accounts/", include("openpractice.accounts.urls")),
    path("api/v1/", api.urls),
    # Off unless ADMIN_ENABLED; its login is the app's own sign-in (accounts/admin.py).
    *([path("admin/", admin.site.urls)] if settings.ADMIN_ENABLED else []),
    path("", include("openpractice.coding.urls")),
    path("", include("openpractice.contacts.urls")),
    path("", include("openpractice.products.urls")),
    path("", include("openpractice.patients.urls")),
    path("", include("openpractice.billing.urls")),
    path("", include("openpractice.healthcode.urls")),
    path("", include("openpractice.remittances.urls")),
    path("", include("openpractice.card_payments.urls")),
    path("", include("openpractice.receivables.urls")),
    path("", include("openpractice.reports.urls")),
    path("", include("openpractice.bureaus.urls")),
    path("", include("openpractice.onboarding.urls")),
    path("", include("openpractice.imports.urls")),
    path("", include("openpractice.audit.urls")),
    path("", include("openpractice.practices.urls")),
    path("", include("openpractice.home.urls")),
]

handler404 = "openpractice.error_pages.page_not_found"
handler403 = "openpractice.error_pages.permission_denied"
handler500 = "openpractice.error_pages.server_error"
