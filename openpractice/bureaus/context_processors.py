"""The shell's bureau parts: the "Bureau" entry (bureau staff only) and, on a practice's pages,
which practice of the bureau they are working in (base.html)."""

from __future__ import annotations

from openpractice.bureaus.permissions import staff_for


def bureau(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    staff = staff_for(request)  # one query, kept on the request for the view
    return {"bureau_staff": staff, "current_bureau": staff.bureau if staff else None}
