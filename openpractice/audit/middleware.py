"""Writes the read log for the views named in registry.READS."""

from __future__ import annotations

from openpractice.audit import services
from openpractice.audit.registry import READS


class ReadLogMiddleware:
    """After the view: a GET answered 200 by a registered view is one ReadEvent. Everything else
    (other views, other methods and statuses) costs one dictionary look-up.

    It looks after the response because API token authentication sets the user and practice
    inside the view; pages have them from CurrentPracticeMiddleware already.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method != "GET" or response.status_code != 200:
            return response
        match = getattr(request, "resolver_match", None)
        read = READS.get(match.view_name) if match is not None else None
        if read is None:
            return response
        if read.csv_only and not response.get("Content-Type", "").startswith("text/csv"):
            return response
        practice = getattr(request, "practice", None)
        user = getattr(request, "user", None)
        if practice is None or user is None or not user.is_authenticated:
            return response
        object_id = None
        if read.kwarg:
            try:
                object_id = int(match.kwargs[read.kwarg])
            except (KeyError, TypeError, ValueError):
                object_id = None
        services.record_read(
            practice=practice, user=user, read=read, object_id=object_id, label=request.get_full_path()
        )
        return response
