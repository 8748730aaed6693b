"""The one place a page follows a `next` URL that came from the user.

A `next` field is user input: posted as `https://evil.example/` it would send a logged-in
practice manager off-site after a real action (an open redirect, useful to phishing). Every view
that honours `next` calls `redirect_to_next`, which follows only a URL on this site's own host
(and, behind HTTPS, only an https one), else the view's default.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def stays_on_site(request: HttpRequest, url: str) -> bool:
    """True for a URL on this site's own host (https only when the request came over https)."""
    return bool(url) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def safe_next(request: HttpRequest, field: str = "next") -> str:
    """The posted (or queried) `next` if it stays on this site, else ""."""
    candidate = request.POST.get(field) or request.GET.get(field) or ""
    return candidate if stays_on_site(request, candidate) else ""


def safe_next_url(request: HttpRequest, default: str, *args, field: str = "next") -> str:
    """The safe `next`, else `default` resolved like redirect() resolves it."""
    return safe_next(request, field) or resolve_url(default, *args)


def redirect_to_next(request: HttpRequest, default: str, *args, field: str = "next") -> HttpResponseRedirect:
    return redirect(safe_next_url(request, default, *args, field=field))
