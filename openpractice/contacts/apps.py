from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "openpractice.contacts"
    label = "contacts"
    verbose_name = "Contacts"
    nav_entries = ((20, "Contacts", "contacts:list", "view_records"),)

    def ready(self):
        # A practice's own version of a published insurer entry takes over its insurer contacts
        # (coding cannot import contacts). Models must be loaded before these modules: hence here.
        from openpractice.coding import services as coding
        from openpractice.contacts.services import follow_insurer_version

        if follow_insurer_version not in coding.PRACTICE_VERSION_FOLLOWERS:
            coding.PRACTICE_VERSION_FOLLOWERS.append(follow_insurer_version)
