"""Serve the app: gunicorn with several processes and threads, or waitress (openpractice/serving.py).
Static files are served by WhiteNoise inside the app."""

from django.conf import settings
from django.core.management.base import BaseCommand

from openpractice import env, serving


class Command(BaseCommand):
    help = (
        "Serve OpenPractice on HOST:PORT: gunicorn with WEB_WORKERS processes of WEB_THREADS threads "
        "(default: cores + 1 processes of 4 threads), or waitress with --server waitress."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.OPENPRACTICE_HOST)
        parser.add_argument("--port", type=int, default=settings.OPENPRACTICE_PORT)
        parser.add_argument("--server", choices=env.WEB_SERVERS, help="default: WEB_SERVER, else gunicorn")
        parser.add_argument(
            "--workers", type=int, help="web processes (gunicorn); default: WEB_WORKERS, else cores + 1"
        )
        parser.add_argument(
            "--threads", type=int, help="threads per process; default: WEB_THREADS, else 4 (waitress 8)"
        )
        parser.add_argument("--access-log", action="store_true", help="log every request (default: WEB_ACCESS_LOG)")

    def handle(self, *args, **options):
        plan = plan_from(options)
        self.stdout.write(f"Serving OpenPractice on {env.browse_url(plan.host, plan.port)} ({plan.describe()})")
        self.stdout.flush()
        # The WSGI module sets up the app; imported here so that --help and argument errors stay light.
        from openpractice.wsgi import application

        if plan.server == "waitress":
            largest = max(settings.UPLOAD_MAX_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
            serving.run_waitress(application, plan, max_body_bytes=largest)
        else:
            serving.run_gunicorn(application, plan)


def plan_from(options: dict) -> serving.ServerPlan:
    """The command line first, then the environment, then the defaults (serving.default_size)."""
    server = options.get("server") or env.web_server()
    workers, threads = serving.default_size(server=server)
    return serving.ServerPlan(
        server=server,
        host=options["host"],
        port=options["port"],
        workers=1 if server == "waitress" else options.get("workers") or env.web_workers(workers),
        threads=options.get("threads") or env.web_threads(threads),
        access_log=bool(options.get("access_log")) or env.web_access_log(),
    )
