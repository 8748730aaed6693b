from django.apps import AppConfig


class ReceivablesConfig(AppConfig):
    name = "openpractice.receivables"
    label = "receivables"
    verbose_name = "Collections"
    nav_entries = ((47, "Collections", "receivables:queue", "manage_collections"),)

    def ready(self):
        # Card payments and refunds (card_payments, a lower app that never imports this one) go on
        # the account's activity: connected here, once the models are loaded.
        from openpractice.receivables import receivers

        receivers.connect()
        # the schedule's registry (workers, a lower layer) is filled once the apps are loaded
        from openpractice.receivables.tasks import queue_chase_run
        from openpractice.workers.scheduler import DAILY, Job, register_job

        register_job(
            Job(
                "chase_run",
                DAILY,
                "CHASE_RUN_HOUR",
                queue_chase_run,
                "the day's chase run of every practice (manage.py chase_run)",
            )
        )
