from django.apps import AppConfig


class ReceivablesConfig(AppConfig):
    name = "openpractice.receivables"
    label = "receivables"
    verbose_name = "Collections"
    nav_entries = ((47, "Collections", "receivables:queue", "manage_collections"),)
