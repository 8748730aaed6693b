"""Request plumbing: every page needs a login; every request knows its current practice."""

from __future__ import annotations

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired

from openpractice.practices import selectors

SESSION_PRACTICE_KEY = "current_practice_id"


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Django's login-required default, except the API, which answers 401 itself."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


def _current_membership(request):
    user = request.user
    if not user.is_authenticated:
        return None
    return selectors.current_membership(user=user, practice_id=request.session.get(SESSION_PRACTICE_KEY))


class CurrentPracticeMiddleware:
    """Sets request.membership and request.practice (None when the user has no active membership)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = _current_membership(request)
        request.membership = membership
        request.practice = membership.practice if membership else None
        return self.get_response(request)
