from django.apps import AppConfig


class PracticesConfig(AppConfig):
    name = "openpractice.practices"
    label = "practices"
    verbose_name = "Practices"

    # (order, label, url name, capability): the shell's main navigation; see context_processors.
    nav_entries = ((90, "Settings", "practices:settings", "manage_settings"),)
