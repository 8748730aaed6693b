from django.apps import AppConfig


class HealthcodeConfig(AppConfig):
    name = "openpractice.healthcode"
    label = "healthcode"
    verbose_name = "Healthcode"

    def ready(self) -> None:
        # Imported here: the receivers import models, which exist only once the apps are ready.
        from openpractice.healthcode import receivers

        receivers.connect()
