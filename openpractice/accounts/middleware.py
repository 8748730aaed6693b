"""A practice that requires two-factor sign-in: its members set it up before anything else."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from openpractice.accounts import selectors


class TwoFactorRequiredMiddleware:
    """After CurrentPracticeMiddleware. A session that signed in with a code carries django-otp's
    device marker and costs nothing here; one without it, in a practice that requires two-factor,
    may reach only the set-up page, logout and static files. API calls with a token never have a
    session user here (the API authenticates them itself), so they pass untouched; session API
    calls get 403 like the pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        practice = getattr(request, "practice", None)
        if (
            practice is None
            or not practice.require_two_factor
            or not request.user.is_authenticated
            or request.session.get(DEVICE_ID_SESSION_KEY)
        ):
            return self.get_response(request)
        path = request.path_info
        if path.startswith(settings.STATIC_URL if settings.STATIC_URL.startswith("/") else f"/{settings.STATIC_URL}"):
            return self.get_response(request)
        if selectors.two_factor_device(user=request.user) is not None:
            # Two-factor was turned on after this session signed in: sign in again, with the code.
            logout(request)
            if path.startswith("/api/"):
                return JsonResponse({"detail": "Sign in again with your two-factor code."}, status=401)
            messages.info(request, "Sign in again: your practice requires the code from your authenticator app.")
            return redirect_to_login(request.get_full_path())
        if path in {reverse("accounts:two_factor_setup"), reverse("accounts:logout")}:
            request.two_factor_setup_required = True
            return self.get_response(request)
        if path.startswith("/api/"):
            return JsonResponse(
                {
                    "detail": f"{practice.name} requires two-factor sign-in: set it up under "
                    "Two-factor sign-in before using the API with this session."
                },
                status=403,
            )
        return redirect("accounts:two_factor_setup")
