from django.apps import AppConfig


class CardPaymentsConfig(AppConfig):
    name = "openpractice.card_payments"
    label = "card_payments"
    verbose_name = "Card payments online"

    def ready(self):
        # Refunds of card payments count against billing's paid_total whenever billing refreshes an
        # invoice (a manual payment, a credit note), as the remittances ledger's allocations do.
        # Models must be loaded before these modules are: hence here, in ready().
        from openpractice.billing import services as billing
        from openpractice.card_payments.selectors import refunded_against

        if refunded_against not in billing.SETTLEMENT_SOURCES:
            billing.SETTLEMENT_SOURCES.append(refunded_against)
