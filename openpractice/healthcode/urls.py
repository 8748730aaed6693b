from django.urls import path

from openpractice.healthcode import membership_views, settings_views, views

app_name = "healthcode"

# The invoice paths are billing's (/invoices/…): "bulk" is no invoice id, so these and billing's
# invoices/<int:invoice_id>/ never match the same address, whichever is included first.
urlpatterns = [
    path("invoices/bulk/", views.bulk_submit, name="bulk_submit"),
    path("invoices/bulk/<int:bulk_id>/", views.bulk_detail, name="bulk"),
    path("invoices/bulk/<int:bulk_id>/progress/", views.bulk_progress, name="bulk_progress"),
    path("invoices/bulk/<int:bulk_id>/send-rest/", views.bulk_send_rest, name="bulk_send_rest"),
    path("invoices/<int:invoice_id>/submit/", views.invoice_submit, name="submit"),
    path("invoices/<int:invoice_id>/refresh/", views.invoice_refresh, name="refresh"),
    path("invoices/<int:invoice_id>/cancel/", views.invoice_cancel, name="cancel"),
    path(
        "invoices/<int:invoice_id>/check-membership/", views.invoice_check_membership, name="check_invoice_membership"
    ),
    path("invoices/<int:invoice_id>/status/", views.invoice_status, name="status"),
    path("settings/integrations/healthcode/log/", views.exchange_list, name="exchanges"),
    path("settings/integrations/healthcode/log/<int:exchange_id>/", views.exchange_detail, name="exchange"),
    path("settings/integrations/", settings_views.integrations, name="integrations"),
    path("settings/integrations/healthcode/", settings_views.credentials, name="settings"),
    path("settings/integrations/healthcode/test/", settings_views.test_connection, name="test_connection"),
    path(
        "settings/coding/insurers/sync-from-healthcode/",
        settings_views.sync_insurer_directory,
        name="sync_insurer_directory",
    ),
    path(
        "patients/<int:patient_id>/relationships/<int:relationship_id>/check-membership/",
        membership_views.check_membership,
        name="check_relationship_membership",
    ),
]
