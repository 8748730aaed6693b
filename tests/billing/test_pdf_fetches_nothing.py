"""Rendering an invoice PDF sends no request: a template or stylesheet naming an outside address
(an image on another server, a port on the local network) gets nothing fetched; the app's own static
files still load."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from openpractice.billing.pdf import invoice_pdf, static_file_for, static_only_fetcher


@pytest.fixture
def listener():
    """A server on 127.0.0.1 that records every request made to it."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_an_invoice_pdf_fetches_nothing_from_the_network(make_invoice, listener, settings, tmp_path):
    url, hits = listener
    real = Path(settings.BASE_DIR) / "openpractice" / "billing" / "templates" / "billing" / "pdf.html"
    override = tmp_path / "billing"
    override.mkdir()
    (override / "pdf_real.html").write_text(real.read_text())
    (override / "pdf.html").write_text(
        f'<link rel="stylesheet" href="{url}/evil.css">'
        f'<style>@import url("{url}/imported.css"); body {{ background: url({url}/bg.png) }}</style>'
        f'<img src="{url}/logo.png"><img src="file:///etc/hostname">'
        '{% include "billing/pdf_real.html" %}'
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    invoice = make_invoice()
    pdf = invoice_pdf(invoice=invoice)
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
    assert hits == []
    # The listener does answer: the fetcher refused it, not the network.
    from weasyprint.urls import URLFetcher

    URLFetcher().fetch(f"{url}/evil.css").read()
    assert hits == ["/evil.css"]


def test_the_fetcher_serves_static_files_only(settings):
    fetcher = static_only_fetcher()
    app_css = static_file_for("/static/css/app.css")
    assert app_css and app_css.name == "app.css"
    assert fetcher.fetch(app_css.as_uri()).read().strip()
    for refused in (
        "http://127.0.0.1:1/x.css",
        "https://example.org/logo.png",
        "file:///etc/passwd",
        (Path(settings.BASE_DIR) / "pyproject.toml").as_uri(),
        "ftp://example.org/x",
    ):
        with pytest.raises(ValueError, match="only the app's own static files"):
            fetcher.fetch(refused)
