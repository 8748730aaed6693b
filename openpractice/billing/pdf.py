"""The invoice PDF: the same template language and app CSS as the pages, printed by WeasyPrint."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string


def invoice_pdf(*, invoice) -> bytes:
    from weasyprint import CSS, HTML

    html = render_to_string("billing/pdf.html", {"invoice": invoice, "practice": invoice.practice,
                                                 "practitioner": invoice.practitioner,
                                                 "profile": getattr(invoice.practitioner, "practitioner_profile", None)})
    stylesheets = [CSS(filename=path) for path in (finders.find("css/app.css"), finders.find("css/invoice-print.css"))
                   if path]
    return HTML(string=html, base_url=str(Path(settings.BASE_DIR))).write_pdf(stylesheets=stylesheets)
