"""The chase schedule: defaults, checks naming the stage and field, preview with a real
patient's data, saving; the settings page."""

from __future__ import annotations

import dataclasses

import pytest
from django.urls import reverse

from openpractice.receivables import selectors, services
from openpractice.receivables.errors import ReceivablesError
from openpractice.receivables.models import ChaseStage
from openpractice.receivables.schedule import DEFAULT_STAGES, render_stage


def test_a_practice_without_a_schedule_has_the_defaults(practice):
    stages = selectors.chase_schedule(practice=practice)
    assert [(s.key, s.days_overdue) for s in stages] == [
        ("statement", 0),
        ("reminder", 14),
        ("second_reminder", 28),
        ("final_notice", 42),
        ("collection", 56),
    ]


def test_saved_stages_replace_the_defaults(practice, owner):
    stages = list(DEFAULT_STAGES)
    stages[1] = dataclasses.replace(stages[1], days_overdue=10, email_subject="Hello {{ patient_name }}")
    services.save_chase_schedule(practice=practice, stages=stages, user=owner)
    services.save_chase_schedule(practice=practice, stages=stages, user=owner)  # again: still one row each
    assert ChaseStage.objects.filter(practice=practice).count() == 5
    reminder = selectors.chase_schedule(practice=practice)[1]
    assert reminder.days_overdue == 10 and reminder.email_subject == "Hello {{ patient_name }}"


@pytest.mark.parametrize(
    ("field", "text", "words"),
    [
        ("email_body", "Dear {{ patient_name }, you owe", "Reminder, email: the template does not read"),
        ("letter_body", "{% if balance %}unclosed", "Reminder, letter: the template does not read"),
        ("email_subject", "Pay {{ amount_due }}", "Reminder, email subject: no merge field called amount_due"),
        ("letter_body", "{% include 'base.html' %}", "Reminder, letter: the template does not read"),
    ],
)
def test_a_bad_template_is_refused_naming_stage_and_field(practice, field, text, words):
    stages = list(DEFAULT_STAGES)
    stages[1] = dataclasses.replace(stages[1], **{field: text})
    with pytest.raises(ReceivablesError) as caught:
        services.save_chase_schedule(practice=practice, stages=stages)
    assert words in caught.value.message
    assert caught.value.field == f"reminder-{field}"
    assert not ChaseStage.objects.filter(practice=practice).exists()


def test_stages_in_use_go_out_in_order(practice):
    stages = list(DEFAULT_STAGES)
    stages[2] = dataclasses.replace(stages[2], days_overdue=14)
    with pytest.raises(ReceivablesError) as caught:
        services.save_chase_schedule(practice=practice, stages=stages)
    assert caught.value.field == "second_reminder-days_overdue"
    assert "more days overdue than Reminder (14)" in caught.value.message
    stages[1] = dataclasses.replace(stages[1], enabled=False)  # a stage turned off does not count
    services.save_chase_schedule(practice=practice, stages=stages)


def test_merge_fields_come_from_the_patients_account(world, debts):
    from openpractice.practices.models import Practice

    Practice.objects.filter(pk=world.practice.pk).update(phone="020 7946 0000")
    world.practice.refresh_from_db()
    bill = debts.age(debts.self_pay("Consultation"), 20)
    debts.self_pay("Follow-up")
    fields = selectors.merge_fields(practice=world.practice, patient=world.patient)
    assert fields["balance"] == "£300.50"
    assert fields["oldest_invoice"] == bill.number
    assert fields["patient_name"] == "Oliver Bennett" and fields["practice_phone"] == "020 7946 0000"
    rendered = render_stage(DEFAULT_STAGES[1], fields)
    assert "Dear Oliver Bennett" in rendered.email and "£300.50" in rendered.letter
    assert rendered.subject == "Reminder: £300.50 to pay to Alpha Clinic"


# The page


def _post(stages, **extra):
    data = {"preview_patient": extra.pop("preview_patient", "")}
    for s in stages:
        for f in ("days_overdue", "email_subject", "email_body", "letter_body"):
            data[f"{s.key}-{f}"] = getattr(s, f)
        if s.enabled:
            data[f"{s.key}-enabled"] = "on"
    data.update(extra)
    return data


def test_the_page_shows_the_defaults(client_for, biller):
    body = client_for(biller).get(reverse("receivables:schedule")).content.decode()
    assert "Final notice" in body and "Refer to collection" in body and 'value="42"' in body


def test_preview_renders_with_a_real_patient_and_saves_nothing(client_for, world, debts, biller):
    debts.self_pay("Consultation")
    response = client_for(biller).post(
        reverse("receivables:schedule"), _post(DEFAULT_STAGES, preview_patient=world.patient.pk, action="preview")
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Preview for Oliver Bennett" in body and "Dear Oliver Bennett" in body and "£180.00" in body
    assert not ChaseStage.objects.filter(practice=world.practice).exists()


def test_save_keeps_the_schedule(client_for, practice, biller):
    stages = list(DEFAULT_STAGES)
    stages[0] = dataclasses.replace(stages[0], days_overdue=3)
    response = client_for(biller).post(reverse("receivables:schedule"), _post(stages, action="save"))
    assert response.status_code == 302
    assert selectors.chase_schedule(practice=practice)[0].days_overdue == 3


def test_bad_syntax_is_shown_at_the_field(client_for, practice, biller):
    stages = list(DEFAULT_STAGES)
    stages[3] = dataclasses.replace(stages[3], email_body="Dear {% if %}")
    body = client_for(biller).post(reverse("receivables:schedule"), _post(stages, action="save")).content.decode()
    assert "Final notice, email: the template does not read" in body
    assert 'id="id_final_notice-email_body_error"' in body
    assert not ChaseStage.objects.filter(practice=practice).exists()


def test_another_practices_patient_cannot_be_previewed(client_for, world, debts, other_owner):
    response = client_for(other_owner).post(
        reverse("receivables:schedule"), _post(DEFAULT_STAGES, preview_patient=world.patient.pk, action="preview")
    )
    assert "Oliver Bennett" not in response.content.decode()


def test_who_cannot_chase_cannot_open_the_schedule(client_for, receptionist):
    assert client_for(receptionist).get(reverse("receivables:schedule")).status_code == 403
