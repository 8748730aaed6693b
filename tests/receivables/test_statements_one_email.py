"""A chase run emails each patient once, however many of their debts it chases: the message names
them all, while each debt's stage is recorded once on the account's activity (the database's
"stage sent once per debt" stays). A property over random patients, debts and ages."""

from __future__ import annotations

import datetime as dt

from django.core import mail
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.patients import services as patients
from openpractice.receivables import services
from openpractice.receivables.models import AccountActivity

TODAY = dt.date.today()
PRODUCTS = ["Consultation", "Follow-up", "Scan"]
# Per patient: their debts' ages in days (each debt a bill of one product), and whether they have an email.
patient_debts = st.tuples(st.lists(st.integers(0, 90), min_size=1, max_size=4), st.booleans())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(patients_debts=st.lists(patient_debts, min_size=1, max_size=4))
def test_one_email_per_patient_per_run(world, debts, biller, django_capture_on_commit_callbacks, patients_debts):
    with transaction.atomic():
        made = []
        for n, (ages, has_email) in enumerate(patients_debts):
            patient = patients.create_patient(
                practice=world.practice,
                data={
                    "first_name": "Pat",
                    "last_name": f"Number{n}",
                    "date_of_birth": dt.date(1970, 1, 1),
                    "email": f"pat{n}@example.test" if has_email else "",
                },
            )
            for k, age in enumerate(ages):
                debts.age(debts.self_pay(PRODUCTS[k % 3], patient=patient), age)
            made.append(patient)
        run = services.create_chase_run(practice=world.practice, today=TODAY)
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            counts = services.send_chase_run(run=run, include=[i.pk for i in run.items.all()], user=biller)
        emailed_items = list(run.items.filter(outcome="emailed"))
        expected = sorted({i.patient.email for i in emailed_items})
        assert sorted(m.to[0] for m in mail.outbox) == expected  # one message per patient, no more
        assert counts.get("emails", 0) == len(expected)
        for message in mail.outbox:
            mine = [i for i in emailed_items if i.patient.email == message.to[0]]
            if len(mine) > 1:  # the message lists every debt it is about
                assert all(i.invoice.number in message.body for i in mine)
        sent = AccountActivity.objects.filter(kind="chase_sent", chase_item__run=run)
        assert sent.count() == len([i for i in run.items.all() if i.outcome in ("emailed", "to_print")])
        assert len({(a.invoice_id, a.stage) for a in sent}) == sent.count()  # each debt's stage once
        transaction.set_rollback(True)  # the next example starts from the same world
