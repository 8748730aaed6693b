from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "openpractice.imports"
    label = "imports"
    verbose_name = "Data import"
