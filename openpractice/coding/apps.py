from django.apps import AppConfig


class CodingConfig(AppConfig):
    name = "openpractice.coding"
    label = "coding"
    verbose_name = "Coding"
