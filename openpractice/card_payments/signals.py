"""What the card ledger tells the apps above it (receivables writes the account's activity from
them; this app never imports receivables). Sent inside the transaction that recorded the row."""

from django.dispatch import Signal

# card_payment=CardPayment, allocations=list[CardAllocation]
card_payment_recorded = Signal()
# card_refund=CardRefund
card_refund_recorded = Signal()
