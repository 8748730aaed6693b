"""Judge who owes each posted shortfall not judged yet (lines posted before the rule existed):
`manage.py classify_shortfalls [--practice ID]`. Safe to run again: a judged line is left alone."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from openpractice.practices.models import Practice
from openpractice.remittances.models import RemittanceLine
from openpractice.remittances.services import classify_shortfalls


class Command(BaseCommand):
    help = "Classify posted shortfalls as insurer underpayments or patient liability."

    def add_arguments(self, parser):
        parser.add_argument("--practice", type=int, help="Only this practice's lines")

    def handle(self, *args, **options):
        practices = Practice.objects.all()
        if options.get("practice"):
            practices = practices.filter(pk=options["practice"])
        total = 0
        for practice in practices.order_by("id"):
            with transaction.atomic():
                judged = classify_shortfalls(practice=practice, lines=RemittanceLine.objects.filter(practice=practice))
            total += judged
            if judged:
                self.stdout.write(f"{practice}: {judged} shortfall{'s' if judged != 1 else ''} classified")
        self.stdout.write(f"{total} shortfall{'s' if total != 1 else ''} classified in all.")
