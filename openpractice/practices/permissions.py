"""The one permission check pages use; the API has the same in openpractice/api_auth.py."""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from openpractice.practices.roles import Capability


def require_capability(capability: str = Capability.VIEW_RECORDS):
    """A view needs a current practice and a role with this capability (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.membership is None:
                return render(request, "practices/no_practice.html", status=403)
            if not request.membership.can(capability):
                raise PermissionDenied(f"Your role cannot {Capability(capability).label.lower()}.")
            return view(request, *args, **kwargs)

        wrapper.required_capability = capability
        return wrapper

    return decorator
