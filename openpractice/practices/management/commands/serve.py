"""Serve the app with waitress (threads; static files by WhiteNoise)."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve OpenPractice on HOST:PORT with waitress."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args, host, port, threads, **options):
        from waitress import serve

        from openpractice.wsgi import application

        self.stdout.write(f"Serving OpenPractice on http://{host}:{port}")
        serve(application, host=host, port=port, threads=threads, ident="OpenPractice")
