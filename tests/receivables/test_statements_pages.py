"""Statement pages: login, the manage_collections capability, another practice's patient or run
is a 404; the accounts owing page starts a run from ticked patients or "owing over / older than"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from openpractice.patients import services as patients
from openpractice.patients.models import Patient
from openpractice.receivables.models import AccountActivity, StatementRun


@pytest.fixture
def owing(world, debts):
    Patient.objects.filter(pk=world.patient.pk).update(email="oliver@example.test")
    world.patient.refresh_from_db()
    return debts.age(debts.self_pay("Consultation"), 40)


def test_pages_need_login(client, world, owing):
    for url in (
        reverse("receivables:statement_pdf", args=[world.patient.pk]),
        reverse("receivables:accounts"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"]


def test_pages_need_manage_collections(client_for, receptionist, world, owing):
    client = client_for(receptionist)
    assert client.get(reverse("receivables:statement_pdf", args=[world.patient.pk])).status_code == 403
    assert client.post(reverse("receivables:statement_send", args=[world.patient.pk])).status_code == 403
    assert client.post(reverse("receivables:statement_run_start"), {"patients": [world.patient.pk]}).status_code == 403


def test_another_practices_patient_and_run_are_404(client_for, world, owing, biller, other_owner):
    run = StatementRun.objects.create(practice=world.practice, patient_ids=[], as_of=dt.date.today())
    client = client_for(other_owner)
    assert client.get(reverse("receivables:statement_pdf", args=[world.patient.pk])).status_code == 404
    assert client.post(reverse("receivables:statement_send", args=[world.patient.pk])).status_code == 404
    assert client.get(reverse("receivables:statement_run", args=[run.pk])).status_code == 404
    assert client.get(reverse("receivables:statement_run_pdf", args=[run.pk])).status_code == 404
    # Ticking another practice's patient sends nothing.
    response = client.post(reverse("receivables:statement_run_start"), {"patients": [world.patient.pk]}, follow=True)
    assert "None of those patients is in this practice." in response.content.decode()
    assert not AccountActivity.objects.exists()


def test_download_and_email_from_the_account(client_for, world, owing, biller, django_capture_on_commit_callbacks):
    client = client_for(biller)
    response = client.get(reverse("receivables:statement_pdf", args=[world.patient.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and "attachment" in response["Content-Disposition"]
    account = client.get(reverse("receivables:patient_account", args=[world.patient.pk])).content.decode()
    assert "Download statement (PDF)" in account and "Email statement" in account
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("receivables:statement_send", args=[world.patient.pk]), follow=True)
    body = response.content.decode()
    assert "Statement emailed to oliver@example.test." in body and "Statement emailed" in body
    assert len(mail.outbox) == 1 and mail.outbox[0].attachments


def test_ticked_patients_get_a_run_with_its_page(
    client_for, world, debts, owing, biller, django_capture_on_commit_callbacks
):
    other = patients.create_patient(
        practice=world.practice, data={"first_name": "Ann", "last_name": "Post", "date_of_birth": dt.date(1970, 1, 1)}
    )
    debts.self_pay("Scan", patient=other)
    client = client_for(biller)
    page = client.get(reverse("receivables:accounts")).content.decode()
    assert 'name="patients"' in page and "Send statements to selected" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("receivables:statement_run_start"), {"patients": [world.patient.pk, other.pk]}, follow=True
        )
    body = response.content.decode()
    run = StatementRun.objects.get()
    assert "Done" in body and "Download the 1 to post" in body and run.emailed == 1 and run.to_post == 1
    pdf = client.get(reverse("receivables:statement_run_pdf", args=[run.pk]) + "?post=1")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(reverse("receivables:statement_run_progress", args=[run.pk])).status_code == 200


def test_matching_patients_and_bad_input(client_for, world, owing, biller, django_capture_on_commit_callbacks):
    client = client_for(biller)
    response = client.post(
        reverse("receivables:statement_run_start"),
        {"choose": "matching", "over": "abc", "older_than": "1"},
        follow=True,
    )
    assert "Owing over: an amount in pounds" in response.content.decode()
    response = client.post(
        reverse("receivables:statement_run_start"),
        {"choose": "matching", "over": "500", "older_than": "0"},
        follow=True,
    )
    assert "No patient owes more than that" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("receivables:statement_run_start"), {"choose": "matching", "over": "10", "older_than": "30"}
        )
    assert StatementRun.objects.get().patient_ids == [world.patient.pk]
    response = client.post(reverse("receivables:statement_run_start"), {}, follow=True)
    assert "Choose at least one patient" in response.content.decode()


def test_a_big_runs_download_is_a_zip_of_pdfs(client_for, world, owing, biller, monkeypatch):
    import io
    import zipfile

    from openpractice.receivables import statements

    run = statements.start_statement_run(practice=world.practice, patient_ids=[world.patient.pk], user=biller)
    monkeypatch.setattr(statements, "MERGED_UP_TO", 0)
    response = client_for(biller).get(reverse("receivables:statement_run_pdf", args=[run.pk]))
    assert response["Content-Type"] == "application/zip" and ".zip" in response["Content-Disposition"]
    [name] = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert name.startswith("0001-statement-") and name.endswith(".pdf")
