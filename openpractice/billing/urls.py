from django.urls import path

from openpractice.billing import views

app_name = "billing"

# Submitting to Healthcode, the status badge and bulk runs live under /invoices/ too, in the
# healthcode app's URLs (healthcode/urls.py).
urlpatterns = [
    path("invoices/", views.invoice_list, name="list"),
    path("settings/billing/", views.numbering_settings, name="numbering"),
    path("invoices/new/", views.invoice_new, name="add"),
    path("invoices/new/total/", views.invoice_quote, name="quote"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="detail"),
    path("invoices/<int:invoice_id>/edit/", views.invoice_edit, name="edit"),
    path("invoices/<int:invoice_id>/live/", views.invoice_live, name="live"),
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="pdf"),
    path("invoices/<int:invoice_id>/registration-number/", views.fix_registration, name="fix_registration"),
    path("invoices/<int:invoice_id>/issue/", views.invoice_issue, name="issue"),
    path("invoices/<int:invoice_id>/void/", views.invoice_void, name="void"),
    path("invoices/<int:invoice_id>/payments/", views.invoice_payment, name="payment"),
    path("invoices/<int:invoice_id>/credit-notes/", views.invoice_credit, name="credit"),
    path("invoices/<int:invoice_id>/email/", views.invoice_email, name="email"),
    path("patients/<int:patient_id>/invoices/", views.patient_invoices, name="patient_invoices"),
]
