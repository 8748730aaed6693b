from django.apps import AppConfig


class BureausConfig(AppConfig):
    name = "openpractice.bureaus"
    label = "bureaus"
    verbose_name = "Bureaus"
    # No nav_entries: "Bureau" is shown to bureau staff only, which no capability says
    # (bureaus.context_processors.bureau, read by base.html).
