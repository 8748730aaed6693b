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


class CurrentPracticeMiddleware:
    """Sets request.membership and request.practice (None when the user has no active membership),
    and request.memberships: all the user's active ones (the sidebar's practice switch), read in
    the same query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        memberships = selectors.signed_in_memberships(user=user) if user.is_authenticated else []
        membership = selectors.chosen_membership(memberships, practice_id=request.session.get(SESSION_PRACTICE_KEY))
        request.memberships = memberships
        request.membership = membership
        request.practice = membership.practice if membership else None
        return self.get_response(request)
