"""API authentication and the permission check, matching the pages exactly.

A request is either a logged-in browser session (CSRF-checked) or carries
`Authorization: Bearer op_…`, a per-user token bound to one practice.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from openpractice.accounts.models import ApiToken, hash_token
from openpractice.practices.models import Membership
from openpractice.practices.roles import Capability


def _check(request, capability: str | None):
    if capability is not None:
        require(request, capability)


class TokenAuth(HttpBearer):
    def __init__(self, capability: str | None = None):
        super().__init__()
        self.capability = capability

    def authenticate(self, request, token: str):
        if not token.startswith("op_"):
            return None
        api_token = (
            ApiToken.objects.select_related("user", "practice")
            .filter(token_hash=hash_token(token), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if api_token is None:
            return None
        membership = (
            Membership.objects.select_related("practice", "user")
            .filter(user=api_token.user, practice=api_token.practice, is_active=True)
            .first()
        )
        if membership is None:
            return None
        now = timezone.now()
        # Touch last-used at most once a minute: a busy integration should not write per call.
        if api_token.last_used_at is None or now - api_token.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        request.user = api_token.user
        request.membership = membership
        request.practice = membership.practice
        _check(request, self.capability)
        return api_token


class PracticeSessionAuth(SessionAuth):
    """The browser session; the current practice comes from CurrentPracticeMiddleware."""

    def __init__(self, capability: str | None = None):
        super().__init__()
        self.capability = capability

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user:
            _check(request, self.capability)
        return user


API_AUTH = [TokenAuth(), PracticeSessionAuth()]


def auth_for(capability: str) -> list:
    """Authentication that also checks the capability, before the body is even parsed:
    a role that may not do something gets 403, not a validation error."""
    return [TokenAuth(capability), PracticeSessionAuth(capability)]


def require(request, capability: str = Capability.VIEW_RECORDS) -> Membership:
    """The same check as require_capability on pages: a current practice and a role that can."""
    membership = getattr(request, "membership", None)
    if membership is None:
        raise HttpError(403, "You are not an active member of any practice.")
    if not membership.can(capability):
        raise HttpError(403, f"Your role cannot {Capability(capability).label.lower()}.")
    return membership
