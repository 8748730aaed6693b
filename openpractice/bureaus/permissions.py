"""The check every bureau page and API route makes: the person works for a bureau. What they see
is then narrowed per kind of row to the practices where their role has that kind's capability
(selectors.Workspace), so a bureau page never shows a practice the person is not a member of."""

from __future__ import annotations

from functools import wraps

from django.shortcuts import render

from openpractice.bureaus import selectors
from openpractice.bureaus.apps import BUREAU_STAFF_FLAG

_UNSET = object()


def staff_for(request):
    """The signed-in person's BureauStaff row (or None), read once per request; no query at all
    for a member of a practice who is not bureau staff (the flag read with the memberships)."""
    found = getattr(request, "_bureau_staff", _UNSET)
    if found is _UNSET:
        memberships = getattr(request, "memberships", None)
        flags = memberships[0].user_flags if memberships and hasattr(memberships[0], "user_flags") else {}
        if flags.get(BUREAU_STAFF_FLAG) is False:
            found = None
        else:
            found = selectors.staff_of(user=request.user)
        request._bureau_staff = found
    return found


def require_bureau_staff(view):
    """A page for bureau staff: 403 with a page saying so for anyone else. Sets request.workspace."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        staff = staff_for(request)
        if staff is None:
            return render(request, "bureaus/not_staff.html", status=403)
        request.workspace = selectors.workspace(user=request.user, staff=staff)
        return view(request, *args, **kwargs)

    wrapper.required_capability = "bureau_staff"
    return wrapper
