from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "openpractice.onboarding"
    label = "onboarding"
    verbose_name = "Onboarding"
    nav_entries = ((88, "New consultant", "onboarding:new", "manage_settings"),)

    def ready(self):
        # The consultant's practitioner details wait for them to accept the invitation.
        from openpractice.onboarding import receivers

        receivers.connect()
