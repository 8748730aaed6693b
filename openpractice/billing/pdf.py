"""The invoice PDF: the same template language and app CSS as the pages, printed by WeasyPrint.

WeasyPrint would fetch any URL a template, a stylesheet or a practice's own text names (an image on
another server, a port on the local network). Its url_fetcher here serves the app's own static
files and inline data only, and refuses everything else: rendering an invoice sends no request.
"""

from __future__ import annotations

import mimetypes
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string


def invoice_pdf(*, invoice) -> bytes:
    from weasyprint import CSS, HTML

    html = render_to_string(
        "billing/pdf.html",
        {
            "invoice": invoice,
            "practice": invoice.practice,
            "practitioner": invoice.practitioner,
            "profile": getattr(invoice.practitioner, "practitioner_profile", None),
        },
    )
    fetcher = static_only_fetcher()
    stylesheets = [
        CSS(filename=path, url_fetcher=fetcher)
        for path in (finders.find("css/app.css"), finders.find("css/invoice-print.css"))
        if path
    ]
    return HTML(string=html, base_url=str(Path(settings.BASE_DIR)), url_fetcher=fetcher).write_pdf(
        stylesheets=stylesheets
    )


@lru_cache(maxsize=1)
def _static_roots() -> tuple[Path, ...]:
    roots = [Path(settings.STATIC_ROOT), *(Path(d) for d in settings.STATICFILES_DIRS)]
    for finder in finders.get_finders():
        roots += [Path(storage.location) for storage in getattr(finder, "storages", {}).values()]
    return tuple(dict.fromkeys(root.resolve() for root in roots))


def static_file_for(url: str) -> Path | None:
    """The app's static file a file: URL (or a /static/ path) names, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("file", "") or parts.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parts.path)).resolve()
    if any(path.is_relative_to(root) for root in _static_roots()) and path.is_file():
        return path
    prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    if prefix in parts.path:  # "/static/css/x.css", made absolute against the base URL
        found = finders.find(unquote(parts.path.split(prefix, 1)[1]))
        return Path(found).resolve() if found else None
    return None


def static_only_fetcher():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.lower().startswith("data:"):
                return super().fetch(url, headers)  # inline in the document: nothing to fetch
            path = static_file_for(url)
            if path is None:
                raise ValueError(f"invoice PDFs load only the app's own static files, not {url[:200]}")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": kind})

    return StaticOnlyFetcher()
