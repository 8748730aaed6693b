from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "openpractice.audit"
    label = "audit"
    verbose_name = "Read log"
