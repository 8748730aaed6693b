"""The half-signed-in state between the password and the code, and the set-up QR code.

After a correct password, a person with two-factor on is NOT logged in: the session holds only a
signed, short-lived value naming the user and a fingerprint of their password hash. Nothing reads
it except the code step, so it opens no page; it stops working after TWO_FACTOR_PENDING_SECONDS,
or as soon as the password changes.
"""

from __future__ import annotations

from base64 import b32encode
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from openpractice.accounts.models import User

PENDING_KEY = "two_factor_pending"
_SALT = "openpractice.accounts.two-factor-pending"


@dataclass(frozen=True)
class Pending:
    user: object
    next_url: str


def _password_fingerprint(user) -> str:
    return salted_hmac(_SALT, user.password, algorithm="sha256").hexdigest()


def start_pending(request, *, user, next_url: str) -> None:
    request.session[PENDING_KEY] = signing.dumps(
        {"user": user.pk, "password": _password_fingerprint(user), "next": next_url}, salt=_SALT
    )


def pending(request) -> Pending | None:
    """The user waiting for their code, or None (none, expired, tampered with, password changed)."""

    raw = request.session.get(PENDING_KEY)
    if not raw:
        return None
    try:
        data = signing.loads(raw, salt=_SALT, max_age=settings.TWO_FACTOR_PENDING_SECONDS)
    except signing.BadSignature:  # expired is a kind of bad signature
        clear_pending(request)
        return None
    user = User.objects.filter(pk=data.get("user"), is_active=True).first()
    if user is None or not constant_time_compare(_password_fingerprint(user), data.get("password", "")):
        clear_pending(request)
        return None
    return Pending(user=user, next_url=data.get("next") or "")


def clear_pending(request) -> None:
    request.session.pop(PENDING_KEY, None)


def secret_for_display(device) -> str:
    """The key as authenticator apps take it typed in: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg(text: str) -> str:
    """The QR code as inline SVG: no JavaScript and no image request."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    svg = image.to_string(encoding="unicode")
    svg = svg[svg.index("<svg") :]  # drop the XML declaration: it is inline HTML
    return svg.replace("<svg ", '<svg role="img" aria-label="QR code for your authenticator app" ', 1)
