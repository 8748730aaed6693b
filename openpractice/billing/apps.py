from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "openpractice.billing"
    label = "billing"
    verbose_name = "Billing"
    nav_entries = ((40, "Invoices", "billing:list", "view_records"),)
