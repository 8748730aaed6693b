"""The check (preview and dry run) of a big file runs in a task, as the post does: the run shows
`checking` with progress, the result is stored for the page and the API, a new check replaces it,
and a file that cannot be read or a crash leaves the run failed with a message, nothing written."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from openpractice.contacts.models import Contact
from openpractice.imports import checks, services
from openpractice.imports.errors import ImportRunError
from openpractice.imports.models import ImportKind, ImportRun, ImportStatus
from openpractice.patients.models import Patient
from tests.imports.conftest import PATIENTS_HEADER, csv_of

IMMEDIATE = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "healthcode"]}
}
BIG = services.BACKGROUND_FROM + 1_500  # over the threshold, and past the first progress report (2,000)


def _rows(count: int, *, bad_every: int = 0, insurer: str = "") -> list[str]:
    """Patient rows P1…: every `bad_every`th has an impossible date of birth (a problem on its row)."""
    rows = []
    for i in range(1, count + 1):
        born = "31/02/1980" if bad_every and i % bad_every == 0 else "10/12/1985"
        number = "12345678" if insurer else ""
        rows.append(f"P{i},,Ada{i},Lovelace,{born},F,,,,,,,{insurer},{number}")
    return rows


@pytest.fixture
def tasks_run_at_once(settings):
    settings.TASKS = IMMEDIATE


@pytest.fixture
def progress_seen(monkeypatch):
    """The progress the page would read (the run's row) each time the check reports it."""
    seen: list[int] = []
    plan = checks.PLANNERS[ImportKind.PATIENTS]

    def watched(run, headers, rows, progress=None):
        def report(done: int) -> None:
            progress(done)
            seen.append(ImportRun.objects.get(pk=run.pk).progress)

        return plan(run, headers, rows, report if progress else None)

    monkeypatch.setitem(checks.PLANNERS, ImportKind.PATIENTS, watched)
    return seen


def test_a_big_file_is_checked_by_a_task_with_progress(
    practice, upload, tasks_run_at_once, progress_seen, django_capture_on_commit_callbacks
):
    run = upload(practice, "patients", PATIENTS_HEADER, *_rows(BIG, bad_every=500))
    with django_capture_on_commit_callbacks(execute=False) as queued:
        started = services.check_import(run=run)
    assert started.status == ImportStatus.CHECKING and started.phase == "checking" and len(queued) == 1
    assert ImportRun.objects.get(pk=run.pk).counts == {}  # nothing to show until the task ends
    assert progress_seen == []  # the request checked no row

    queued[0]()  # the task (run at once here; by a worker in production)
    run = ImportRun.objects.get(pk=run.pk)
    assert progress_seen == [2000, BIG]  # rows checked, as the page polls them
    assert run.status == ImportStatus.CHECKED and run.phase == "" and run.error == ""
    assert run.progress == BIG and run.checked_at
    assert run.problem_count == BIG // 500 and run.counts["create"] == BIG - BIG // 500
    assert run.problems[0]["row"] == 501 and run.problems[0]["field"] == "date_of_birth"
    assert not Patient.objects.filter(practice=practice).exists()  # a check writes nothing


def test_a_small_file_is_still_checked_in_the_request(practice, upload, django_capture_on_commit_callbacks):
    run = upload(practice, "patients", PATIENTS_HEADER, *_rows(3))
    with django_capture_on_commit_callbacks(execute=False) as queued:
        run = services.check_import(run=run)
    assert queued == [] and run.status == ImportStatus.CHECKED and run.counts["create"] == 3


def test_a_new_check_replaces_the_last(
    practice, upload, insurer_contact, tasks_run_at_once, django_capture_on_commit_callbacks
):
    run = upload(practice, "patients", PATIENTS_HEADER, *_rows(BIG, insurer="bup"))
    with django_capture_on_commit_callbacks(execute=True):
        services.check_import(run=run)
    run = ImportRun.objects.get(pk=run.pk)
    assert run.problem_count == BIG and run.problems[0]["field"] == "insurer"  # no Bupa contact yet

    insurer_contact(practice, "bup")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.check_import(run=run)
    checking = ImportRun.objects.get(pk=run.pk)
    assert checking.status == ImportStatus.CHECKING
    assert checking.problems == [] and checking.problem_count == 0 and checking.counts == {}  # the old result went
    for change in (
        lambda: services.post_import(run=checking),
        lambda: services.set_mapping(run=checking, mapping=checking.mapping),
        lambda: services.check_import(run=checking),
    ):
        with pytest.raises(ImportRunError) as refused:
            change()
        assert refused.value.code == "status" and "checking" in refused.value.message

    queued[0]()
    run = ImportRun.objects.get(pk=run.pk)
    assert run.status == ImportStatus.CHECKED and run.problem_count == 0 and run.counts["create"] == BIG
    assert services.carry_out_check(run_id=run.pk).status == ImportStatus.CHECKED  # a task run twice: no change


def test_a_crash_leaves_the_run_failed_with_a_message_and_it_can_be_checked_again(
    practice, upload, monkeypatch, tasks_run_at_once, django_capture_on_commit_callbacks
):
    plan = checks.PLANNERS[ImportKind.PATIENTS]

    def crashes(run, headers, rows, progress=None):
        progress(2000)
        raise RuntimeError("the worker ran out of something")

    monkeypatch.setitem(checks.PLANNERS, ImportKind.PATIENTS, crashes)
    run = upload(practice, "patients", PATIENTS_HEADER, *_rows(BIG))
    with django_capture_on_commit_callbacks(execute=True):
        services.check_import(run=run)
    run = ImportRun.objects.get(pk=run.pk)
    assert run.status == ImportStatus.FAILED and run.phase == "" and run.progress == 0
    assert run.error.startswith(f"The check stopped unexpectedly after 2,000 of {BIG:,} rows (RuntimeError).")
    assert "Nothing was written" in run.error and "check it again" in run.error
    assert run.counts == {} and run.problems == [] and run.problem_count == 0
    with pytest.raises(RuntimeError):  # the task's body lets the crash through, for the task's own record
        ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.CHECKING)
        services.carry_out_check(run_id=run.pk)

    monkeypatch.setitem(checks.PLANNERS, ImportKind.PATIENTS, plan)
    with django_capture_on_commit_callbacks(execute=True):
        services.check_import(run=run)
    run = ImportRun.objects.get(pk=run.pk)
    assert run.status == ImportStatus.CHECKED and run.error == "" and run.counts["create"] == BIG


def test_a_file_that_cannot_be_read_fails_the_check_with_why(
    practice, upload, tasks_run_at_once, django_capture_on_commit_callbacks
):
    run = upload(practice, "patients", PATIENTS_HEADER, *_rows(BIG))
    # a stray quote: the rest of the file reads as one cell, longer than a cell may be
    ImportRun.objects.filter(pk=run.pk).update(content=run.content + 'P9,"' + "x" * 200_000 + "\n")
    with django_capture_on_commit_callbacks(execute=True):
        services.check_import(run=ImportRun.objects.get(pk=run.pk))
    run = ImportRun.objects.get(pk=run.pk)
    assert run.status == ImportStatus.FAILED
    assert run.error.startswith("The file could not be read (field larger than field limit")
    assert "upload it again" in run.error


def test_a_crash_in_a_trial_of_contacts_undoes_its_writes(
    practice, upload, monkeypatch, tasks_run_at_once, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "BACKGROUND_FROM", 2)  # contacts go through their service row by row: kept small
    create_contact = checks.contacts.create_contact
    made: list[int] = []

    def second_crashes(**arguments):
        if made:
            raise RuntimeError("lost the database")
        contact = create_contact(**arguments)
        made.append(contact.pk)
        return contact

    monkeypatch.setattr(checks.contacts, "create_contact", second_crashes)
    run = upload(practice, "contacts", "Name,Type", "Dr Watson,GP", "Dr Jekyll,GP")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert services.check_import(run=run).phase == "trial"
    queued[0]()
    run = ImportRun.objects.get(pk=run.pk)
    assert made and run.status == ImportStatus.FAILED and "(RuntimeError)" in run.error
    assert not Contact.objects.filter(pk__in=made).exists()  # the trial's first write was undone


# -- the page -------------------------------------------------------------------------------------
PAGE_HEADER = "Patient ID,Forename,Surname,DOB,NHS No"


def test_page_shows_the_checks_progress_then_its_problems_a_page_at_a_time(
    owner_client, practice, tasks_run_at_once, django_capture_on_commit_callbacks
):
    rows = [f"P{i},Ada{i},Lovelace,{'31/02/1980' if i % 5 == 0 else '10/12/1985'}," for i in range(1, BIG + 1)]
    owner_client.post(
        reverse("imports:start"),
        {"kind": "patients", "source_name": "Big PAS", "file": SimpleUploadedFile("p.csv", csv_of(PAGE_HEADER, *rows))},
    )
    run = ImportRun.objects.get()
    mapping = {"source_id": "Patient ID", "first_name": "Forename", "last_name": "Surname", "date_of_birth": "DOB"}
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = owner_client.post(reverse("imports:columns", args=[run.pk]), mapping)
    assert response.url == reverse("imports:detail", args=[run.pk]) and len(queued) == 1

    page = owner_client.get(response.url).content.decode()
    assert 'id="import-progress"' in page and 'hx-trigger="every 1s"' in page
    assert f"0</strong> of {BIG:,} rows checked" in page and "Nothing is written by a check" in page
    assert 'id="import-post"' not in page and 'id="import-problems"' not in page
    assert "HX-Redirect" not in owner_client.get(reverse("imports:progress", args=[run.pk]))
    assert owner_client.get(reverse("imports:columns", args=[run.pk])).url == response.url  # no change meanwhile

    ImportRun.objects.filter(pk=run.pk).update(progress=2000)
    assert (
        f"2,000</strong> of {BIG:,} rows checked"
        in owner_client.get(reverse("imports:progress", args=[run.pk])).content.decode()
    )

    queued[0]()
    assert owner_client.get(reverse("imports:progress", args=[run.pk]))["HX-Redirect"] == response.url
    page = owner_client.get(response.url).content.decode()
    problems = BIG // 5
    assert f"{problems} problems to fix" in page and 'id="import-progress"' not in page
    assert page.count('<td class="row-no">') == 200 and '<td class="row-no">6</td>' in page  # line 6 is P5
    assert f"Problems 1–200 of {problems}" in page and "?page=2" in page
    second = owner_client.get(response.url + "?page=2").content.decode()
    assert second.count('<td class="row-no">') == 200 and "Problems 201–400" in second

    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.FAILED, error="The check stopped: why.", problems=[], problem_count=0
    )
    stopped = owner_client.get(response.url).content.decode()
    assert "nothing was written" in stopped and "The check stopped: why." in stopped
    assert 'id="import-recheck"' in stopped and 'id="import-post"' not in stopped


# -- the API --------------------------------------------------------------------------------------
def test_api_a_big_check_answers_202_then_is_polled(
    api_token_for, owner, practice, tasks_run_at_once, django_capture_on_commit_callbacks
):
    client = Client(**api_token_for(owner, practice))
    rows = [f"{i},Ada{i},Lovelace,{'1985-02-30' if i == 7 else '10/12/1985'}" for i in range(1, BIG + 1)]
    run_id = client.post(
        "/api/v1/imports",
        {
            "kind": "patients",
            "source_name": "OldSystem",
            "file": SimpleUploadedFile("p.csv", csv_of("Ref,Forename,Surname,DOB", *rows)),
        },
    ).json()["id"]
    client.put(
        f"/api/v1/imports/{run_id}/mapping",
        {"mapping": {"source_id": "Ref", "first_name": "Forename", "last_name": "Surname", "date_of_birth": "DOB"}},
        content_type="application/json",
    )
    with django_capture_on_commit_callbacks(execute=False) as queued:
        started = client.post(f"/api/v1/imports/{run_id}/check")
    assert started.status_code == 202, started.content
    assert started["Location"] == f"/api/v1/imports/{run_id}"
    assert started.json()["status"] == "checking" and started.json()["counts"] is None
    polled = client.get(started["Location"]).json()
    assert polled["status"] == "checking" and polled["phase"] == "checking" and polled["progress"] == 0
    assert client.post(f"/api/v1/imports/{run_id}/post").json()["detail"][0]["type"] == "status"

    queued[0]()
    done = client.get(started["Location"]).json()
    assert done["status"] == "checked" and done["progress"] == BIG and done["error"] == ""
    assert done["problem_count"] == 1 and done["counts"]["create"] == BIG - 1
    problems = client.get(f"/api/v1/imports/{run_id}/problems?offset=0&limit=5").json()
    assert [(p["row"], p["field"]) for p in problems] == [(8, "date_of_birth")]
    assert client.get(f"/api/v1/imports/{run_id}/problems?offset=1").json() == []
    assert client.get(f"/api/v1/imports/{run_id}/problems?limit=0").status_code == 422
