from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "openpractice.patients"
    label = "patients"
    verbose_name = "Patients"
    nav_entries = ((10, "Patients", "patients:list", "view_records"),)
