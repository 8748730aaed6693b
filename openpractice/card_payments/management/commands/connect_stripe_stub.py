"""Development and demo only: connect practices to the local Stripe stub (STRIPE_API_BASE).

`manage.py connect_stripe_stub --practice-name "Harley Street Demo Clinic"` gives the named
practices test keys when they have none, then registers every test-mode practice's webhook
endpoint (OPENPRACTICE_PUBLIC_URL + its webhook path) with the stub, which keeps them in memory:
`make run` (scripts/run.py) runs it each time it starts the stub. It never touches live keys and
refuses to run against Stripe itself."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from openpractice.card_payments import services
from openpractice.card_payments.errors import CardPaymentError
from openpractice.card_payments.models import StripeIntegration
from openpractice.card_payments.stripe_client import client_for
from openpractice.practices.models import Practice


class Command(BaseCommand):
    help = "Connect test-mode practices to the local Stripe stub (development and demo only)."

    def add_arguments(self, parser):
        parser.add_argument("--practice-name", action="append", default=[], help="give this practice test keys")
        parser.add_argument("--wait", type=float, default=20.0, help="seconds to wait for the stub to answer")

    def handle(self, *args, **options):
        if not settings.STRIPE_API_BASE:
            raise CommandError("STRIPE_API_BASE is not set: this command only connects to the local Stripe stub.")
        for name in options["practice_name"]:
            practice = Practice.objects.filter(name=name).first()
            if practice is not None and not StripeIntegration.objects.filter(practice=practice).exists():
                services.save_stripe_keys(
                    practice=practice,
                    publishable_key=f"pk_test_stub_{practice.pk}",
                    secret_key=f"sk_test_stub_{practice.pk}",
                )
        deadline = time.monotonic() + options["wait"]
        for integration in StripeIntegration.objects.select_related("practice"):
            if integration.is_live or not integration.secret_key_is_set:
                continue
            while True:
                try:
                    client_for(integration).v1.balance.retrieve()
                    break
                except Exception:  # the stub is still starting: wait for it
                    if time.monotonic() > deadline:
                        raise CommandError(f"The Stripe stub at {settings.STRIPE_API_BASE} does not answer.") from None
                    time.sleep(0.5)
            url = settings.PUBLIC_URL.rstrip("/") + reverse(
                "card_payments:webhook", kwargs={"key": integration.webhook_key}
            )
            try:
                services.register_webhook_endpoint(practice=integration.practice, url=url)
            except CardPaymentError as exc:
                self.stderr.write(f"{integration.practice}: {exc.message}")
            else:
                self.stdout.write(f"{integration.practice}: Stripe stub sends payment events to {url}")
