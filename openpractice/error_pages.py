"""Error pages in the app's own layout (404, 403, 500): `handler404/403/500` in urls.py."""

import logging

from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template.loader import get_template


def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):
        # No route matched (e.g. a negative id where the path wants a number): answer like the API.
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "errors/404.html", status=404)


def permission_denied(request, exception=None):
    message = str(exception) if exception and str(exception) else ""
    return render(request, "errors/403.html", {"message": message}, status=403)


def server_error(request):
    # No context processors: the request that failed may be what broke them.
    return HttpResponseServerError(get_template("errors/500.html").render({}))


class ClientErrorsWithoutTraceback(logging.Filter):
    """On `django.request` (settings.LOGGING): a 4xx answer (a 403 from PermissionDenied, a 400)
    is the app working as meant, so it is logged as the one warning line Django writes, without
    the traceback of the exception that produced it. A 5xx keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
