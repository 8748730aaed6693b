from django.apps import AppConfig


class HealthcodeConfig(AppConfig):
    name = "openpractice.healthcode"
    label = "healthcode"
    verbose_name = "Healthcode"
