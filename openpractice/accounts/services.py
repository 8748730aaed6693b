"""Writes for accounts: API tokens."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from openpractice.accounts.models import ApiToken, hash_token


@transaction.atomic
def create_api_token(*, user, practice, name: str) -> tuple[ApiToken, str]:
    """Make a token for this user in this practice. The raw value is returned once, never stored."""
    raw = ApiToken.generate_raw()
    token = ApiToken.objects.create(
        user=user, practice=practice, name=name.strip() or "API token",
        token_hash=hash_token(raw), prefix=raw[:10],
    )
    return token, raw


@transaction.atomic
def revoke_api_token(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
