"""Serve the app with waitress (threads; static files by WhiteNoise)."""

from django.core.management.base import BaseCommand

from openpractice.wsgi import application


class Command(BaseCommand):
    help = "Serve OpenPractice on HOST:PORT with waitress."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args, host, port, threads, **options):
        from django.conf import settings
        from waitress import serve

        self.stdout.write(f"Serving OpenPractice on http://{host}:{port}")
        # waitress buffers a body (chunked ones too) before the app sees it: cap that buffer at the
        # largest body any path accepts, so an endless upload is cut off by the server itself.
        largest = max(settings.UPLOAD_MAX_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        serve(application, host=host, port=port, threads=threads, ident="OpenPractice", max_request_body_size=largest)
