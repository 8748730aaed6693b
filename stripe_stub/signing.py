"""Stripe's webhook signature scheme: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>" keyed
with the endpoint's whole signing secret>`, as `stripe.Webhook.construct_event` verifies it."""

from __future__ import annotations

import hashlib
import hmac
import time


def signature_header(payload: bytes | str, secret: str, *, timestamp: int | None = None) -> str:
    body = payload.encode() if isinstance(payload, str) else payload
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"
