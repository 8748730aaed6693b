from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "openpractice.reports"
    label = "reports"
    verbose_name = "Reports"
    nav_entries = ((50, "Reports", "reports:index", "view_records"),)
