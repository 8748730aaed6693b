from django.apps import AppConfig


class HomeConfig(AppConfig):
    name = "openpractice.home"
    label = "home"
    verbose_name = "Home"

    # (order, label, url name, capability): the shell's main navigation; see practices/context_processors.
    nav_entries = ((0, "Dashboard", "home:dashboard", "view_records"),)
