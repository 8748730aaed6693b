"""The consultant report as a PDF: the same template language and app CSS as the pages, printed by
WeasyPrint with billing's static-only URL fetcher (rendering a report sends no request)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone

from openpractice.billing.pdf import static_only_fetcher
from openpractice.reports.selectors import BUCKETS


def report_pdf(*, figures, practice, generated_at=None) -> bytes:
    from weasyprint import HTML  # heavy: loaded only when a PDF is made

    html = render_to_string(
        "reports/consultant_pdf.html",
        {
            "figures": figures,
            "practice": practice,
            "buckets": BUCKETS,
            "generated_at": generated_at or timezone.now(),
        },
    )
    fetcher = static_only_fetcher()
    return HTML(string=html, base_url=str(Path(settings.BASE_DIR)), url_fetcher=fetcher).write_pdf(
        stylesheets=list(_stylesheets())
    )


@lru_cache(maxsize=1)
def _stylesheets() -> tuple:
    """The print stylesheets, parsed once a process: a bureau's month is fifty PDFs in a row."""
    from weasyprint import CSS

    fetcher = static_only_fetcher()
    paths = (finders.find("css/invoice-print.css"), finders.find("css/consultant-report.css"))
    return tuple(CSS(filename=path, url_fetcher=fetcher) for path in paths if path)
