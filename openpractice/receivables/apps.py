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
