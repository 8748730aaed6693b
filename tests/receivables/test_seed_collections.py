"""seed_demo gives the Collections pages debts to show: overdue self-pay bills and shortfalls
moved to insured patients, made through the services on the demo clock."""

from __future__ import annotations

from decimal import Decimal

from django.core.management import call_command
from django.utils import timezone

from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE, seed_collections
from openpractice.patients.models import Patient
from openpractice.practices.models import Membership, Practice
from openpractice.receivables import selectors


def test_the_demo_practice_has_patients_who_owe(db):
    # seed_demo calls it after the year of history (make run); the set-up alone is enough here.
    call_command("seed_demo", "--quiet-if-exists", "--no-history")
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    biller = Membership.objects.get(practice=practice, role="billing").user
    assert seed_collections(practice=practice, biller=biller) == 4
    owing = {r.name: r for r in selectors.accounts_owing(practice=practice).rows}
    assert owing["Grace Hughes"].balance == Decimal("150.00") and owing["Grace Hughes"].days_overdue == 50
    assert owing["Harry Evans"].days_overdue == 20
    assert owing["Amelia Clarke"].balance == Decimal("50.00") and owing["Amelia Clarke"].days_overdue == 28
    assert owing["Isla Turner"].balance == Decimal("135.00")
    clarke = next(p for p in owing.values() if p.name == "Amelia Clarke")
    account = selectors.patient_account(practice=practice, patient=Patient.objects.get(pk=clarke.patient_id))
    assert [i.kind for i in account.items] == ["excess"]
    stages = {c.stage for c in selectors.chase_candidates(practice=practice, today=timezone.localdate())}
    assert "statement" in stages
    assert selectors.activity_of(practice=practice).filter(kind="note").exists()
