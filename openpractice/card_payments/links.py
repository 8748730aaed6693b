"""The patient's "Pay online" link: /pay/<token>/, the token signed with the site's secret (it
names the practice, the patient and, for one invoice, the invoice; never an amount: what is owed is
read when the patient pays). No expiry: a statement or a letter may be paid weeks later; a link to
nothing owed says so."""

from __future__ import annotations

import dataclasses

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "openpractice.card_payments.pay"


@dataclasses.dataclass(frozen=True)
class PayLink:
    practice_id: int
    patient_id: int
    invoice_id: int | None


def token_for(*, practice_id: int, patient_id: int, invoice_id: int | None = None) -> str:
    payload = [practice_id, patient_id] + ([invoice_id] if invoice_id else [])
    return signing.dumps(payload, salt=SALT, compress=True)


def read_token(token: str) -> PayLink | None:
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not (isinstance(payload, list) and len(payload) in (2, 3) and all(isinstance(v, int) for v in payload)):
        return None
    return PayLink(payload[0], payload[1], payload[2] if len(payload) == 3 else None)


def pay_url(*, practice_id: int, patient_id: int, invoice_id: int | None = None, base_url: str | None = None) -> str:
    """The absolute link (for a PDF or an email: no request to build it from)."""
    path = reverse(
        "card_payments:pay",
        kwargs={"token": token_for(practice_id=practice_id, patient_id=patient_id, invoice_id=invoice_id)},
    )
    return (base_url or settings.PUBLIC_URL).rstrip("/") + path
