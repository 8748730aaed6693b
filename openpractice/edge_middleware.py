"""The web edge: what every request and response passes before any app sees it.

`RequestSizeLimitMiddleware` refuses a body that is too big from its Content-Length alone, before
anything reads it; `SecurityHeadersMiddleware` adds the Content-Security-Policy and the
Permissions-Policy (Django's own middleware adds nosniff, Referrer-Policy and X-Frame-Options).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template.loader import get_template


def human_size(size: int) -> str:
    """25 MB, 2.5 MB, 512 KB: how the limit is named to the person who hit it."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{size} bytes"


def limit_for(path: str) -> int:
    """The largest request body this path accepts: uploads get UPLOAD_MAX_BYTES, the rest Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE (the same bound Django applies when a body is read)."""
    if any(path.startswith(prefix) for prefix in settings.UPLOAD_PATHS):
        return settings.UPLOAD_MAX_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _too_large(request, limit: int, *, status: int = 413, reason: str = "") -> HttpResponse:
    message = reason or (
        f"The request is larger than this page accepts: at most {human_size(limit)}. "
        f"Send a smaller file, or split it into several."
    )
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": [{"loc": ["body"], "msg": message, "type": "too_large"}]}, status=status)
    html = get_template("errors/413.html").render({"message": message, "limit": human_size(limit)})
    return HttpResponse(html, status=status)


class RequestSizeLimitMiddleware:
    """First in the chain: a body over the path's limit is answered with 413 from the header alone.

    Django reads a body only up to its Content-Length (a request without one reads as empty), so a
    chunked upload with no length is refused with 411 rather than silently seen as an empty form.
    An upload path's JSON body (the API's base64 remittance import) is read here, once, after the
    length check, so Django's smaller DATA_UPLOAD_MAX_MEMORY_SIZE does not refuse it later.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = limit_for(request.path_info)
        raw_length = request.META.get("CONTENT_LENGTH") or ""
        if not raw_length.strip():
            if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
                return _too_large(
                    request,
                    limit,
                    status=411,
                    reason=(
                        f"Send the request with a Content-Length header (at most {human_size(limit)}); "
                        "a body of unknown length is not accepted."
                    ),
                )
            return self.get_response(request)
        try:
            length = int(raw_length)
        except ValueError:
            return _too_large(request, limit, status=400, reason="The Content-Length header is not a number.")
        if length > limit:
            return _too_large(request, limit)
        if (
            length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            and limit > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            and not request.content_type.startswith("multipart/")
        ):
            request._body = request.read()  # bounded: length <= limit, checked above
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Content-Security-Policy (one relaxed policy only where a page needs it) and Permissions-Policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        for prefix, relaxed in settings.CONTENT_SECURITY_POLICY_OVERRIDES.items():
            if request.path_info.startswith(prefix):
                policy = relaxed
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        if settings.PERMISSIONS_POLICY and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = settings.PERMISSIONS_POLICY
        return response
