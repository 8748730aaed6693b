from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "openpractice.contacts"
    label = "contacts"
    verbose_name = "Contacts"
    nav_entries = ((20, "Contacts", "contacts:list", "view_records"),)
