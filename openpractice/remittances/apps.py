from django.apps import AppConfig


class RemittancesConfig(AppConfig):
    name = "openpractice.remittances"
    label = "remittances"
    verbose_name = "Remittances"
    nav_entries = ((45, "Remittances", "remittances:list", "billing"),)

    def ready(self):
        # The ledger's allocations count towards billing's paid_total whenever billing refreshes
        # an invoice (a manual payment, a credit note), so neither app's rows are forgotten.
        # Models must be loaded before these modules are: hence here, in ready().
        from openpractice.billing import services as billing
        from openpractice.remittances.selectors import allocated_total

        if allocated_total not in billing.SETTLEMENT_SOURCES:
            billing.SETTLEMENT_SOURCES.append(allocated_total)
        # the schedule's registry (workers, a lower layer) is filled once the apps are loaded
        from openpractice.remittances.jobs import queue_remittance_fetches
        from openpractice.workers.scheduler import HOURLY, Job, register_job

        register_job(
            Job(
                "fetch_remittances",
                HOURLY,
                "REMITTANCE_FETCH_EVERY_HOURS",
                queue_remittance_fetches,
                "the remittance fetch of every practice with a tested Healthcode connection "
                "(manage.py fetch_remittances)",
            )
        )
