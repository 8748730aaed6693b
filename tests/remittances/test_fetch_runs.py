"""A fetch someone asks for ("Fetch from Healthcode now"): its run is queued on commit, taken up by a
worker (running), and ends done (what it fetched and matched) or failed (why); the remittances page
shows it in a fragment polled while it moves, and swaps the inbox in once it has finished."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from django.utils import timezone
from remit_helpers import bundle, collected_invoice, dumps

from openpractice.practices.roles import Role
from openpractice.remittances import fetching
from openpractice.remittances.errors import RemittanceError
from openpractice.remittances.models import FetchRun, FetchRunStatus, LineStatus, RemittanceBatch


class FakeClearingHouse:
    """The three remittance calls of the clearing house, answering from Bundles in memory."""

    def __init__(self, bodies: list[dict]):
        self.bodies = {b["id"]: b for b in bodies}
        self.acknowledged: list[str] = []

    def list_pending_remittances(self, *, page=1, count=100):
        entries = [{"resource": {"resourceType": "PaymentReconciliation", "id": i}} for i in self.bodies]
        return httpx.Response(200, text=json.dumps({"resourceType": "Bundle", "total": len(entries), "entry": entries}))

    def get_remittance_details(self, *, remittance_id):
        return httpx.Response(200, text=dumps(self.bodies[remittance_id]))

    def acknowledge_remittance(self, *, remittance_id):
        self.acknowledged.append(remittance_id)
        return httpx.Response(200, text="{}")


@pytest.fixture
def set_up(monkeypatch):
    """Healthcode counts as set up (the fake client stands in for the connection)."""
    monkeypatch.setattr(fetching, "require_tested", lambda **kwargs: None)


# -- the run's state ------------------------------------------------------------------------------
def test_request_queues_one_run_on_commit_and_a_second_press_gets_the_same(
    world, django_capture_on_commit_callbacks, settings
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "healthcode"]}}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = fetching.request_fetch(practice=world.practice, user=world.user)
    assert run.status == FetchRunStatus.QUEUED and run.requested_by == world.user
    assert not DBTaskResult.objects.exists()  # nothing queued before the commit
    for callback in callbacks:
        callback()
    (queued,) = DBTaskResult.objects.all()
    assert queued.args_kwargs["args"] == [world.practice.pk, run.pk]
    with django_capture_on_commit_callbacks(execute=True):
        again = fetching.request_fetch(practice=world.practice, user=world.user)
    assert again.pk == run.pk and DBTaskResult.objects.count() == 1  # one fetch at a time


def test_a_run_left_by_a_dead_worker_is_closed_and_a_new_one_queued(world, django_capture_on_commit_callbacks):
    old = FetchRun.objects.create(practice=world.practice, status=FetchRunStatus.RUNNING)
    FetchRun.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=FetchRun.STALE_AFTER_MINUTES + 1)
    )
    old.refresh_from_db()
    assert old.is_stale and not old.is_polled
    with django_capture_on_commit_callbacks(execute=False):
        run = fetching.request_fetch(practice=world.practice)
    old.refresh_from_db()
    assert run.pk != old.pk and run.status == FetchRunStatus.QUEUED
    assert old.status == FetchRunStatus.FAILED and "did not finish" in old.error


DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "healthcode"]}}


def _age(run: FetchRun, minutes: int) -> FetchRun:
    FetchRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - dt.timedelta(minutes=minutes))
    return FetchRun.objects.get(pk=run.pk)


def test_a_fetch_still_waiting_for_a_worker_an_hour_later_is_still_the_one_fetch(
    world, django_capture_on_commit_callbacks, settings
):
    """The hourly schedule must not start a second fetch beside one queued behind other work."""
    settings.TASKS = DB_TASKS
    with django_capture_on_commit_callbacks(execute=True):
        run = fetching.request_fetch(practice=world.practice)
    run = _age(run, 60)
    assert run.task_id and not run.is_stale and run.is_polled
    with django_capture_on_commit_callbacks(execute=True):
        again = fetching.request_fetch(practice=world.practice)
    assert again.pk == run.pk and FetchRun.objects.count() == 1


def test_a_fetch_whose_task_ended_without_finishing_it_is_closed_at_once(
    world, django_capture_on_commit_callbacks, settings
):
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = DB_TASKS
    with django_capture_on_commit_callbacks(execute=True):
        run = fetching.request_fetch(practice=world.practice)
    FetchRun.objects.filter(pk=run.pk).update(status=FetchRunStatus.RUNNING)
    DBTaskResult.objects.filter(id=FetchRun.objects.get(pk=run.pk).task_id).update(status=TaskResultStatus.FAILED)
    assert FetchRun.objects.get(pk=run.pk).is_stale  # moments old, yet no worker will finish it
    with django_capture_on_commit_callbacks(execute=True):
        new = fetching.request_fetch(practice=world.practice)
    assert new.pk != run.pk
    assert FetchRun.objects.get(pk=run.pk).status == FetchRunStatus.FAILED


def test_run_fetch_records_what_was_fetched_and_matched(world, set_up, monkeypatch):
    matched, other = world.invoice(), world.invoice("Scan")
    house = FakeClearingHouse(
        [
            bundle([{"invoice": matched}, {"invoice": other, "number": "NO-SUCH", "membership": "99999999"}]),
            bundle([{"invoice": world.invoice("Follow-up")}]),
        ]
    )
    monkeypatch.setattr(fetching, "_client", lambda practice: _as_context(house))
    run = FetchRun.objects.create(practice=world.practice)
    fetching.run_fetch(run_id=run.pk)
    run.refresh_from_db()
    lines = {line.status for line in RemittanceBatch.objects.get(external_id=list(house.bodies)[0]).lines.all()}
    assert LineStatus.ALLOCATED in lines
    assert run.status == FetchRunStatus.DONE and run.started_at and run.finished_at
    assert (run.fetched, run.matched + run.to_review) == (2, 3)
    assert run.matched >= 2 and run.error == "" and run.problems == []
    assert sorted(house.acknowledged) == sorted(house.bodies)
    # A task run again (a worker died after finishing) does nothing to a finished run.
    assert "finished already" in fetching.run_fetch(run_id=run.pk)


def test_run_fetch_fails_with_the_reason_when_healthcode_is_not_set_up(world):
    run = FetchRun.objects.create(practice=world.practice)
    fetching.run_fetch(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == FetchRunStatus.FAILED and run.finished_at
    assert "Healthcode" in run.error and run.fetched == 0


def test_run_fetch_fails_when_the_pending_list_is_unreadable(world, set_up, monkeypatch):
    class Broken(FakeClearingHouse):
        def list_pending_remittances(self, *, page=1, count=100):
            return httpx.Response(503, text="down")

    monkeypatch.setattr(fetching, "_client", lambda practice: _as_context(Broken([])))
    run = FetchRun.objects.create(practice=world.practice)
    fetching.run_fetch(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == FetchRunStatus.FAILED and "HTTP 503" in run.error


def test_an_unexpected_error_fails_the_run_and_is_raised_for_the_task(world, monkeypatch):
    def crash(**kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(fetching, "fetch_remittances", crash)
    run = FetchRun.objects.create(practice=world.practice)
    with pytest.raises(RuntimeError):
        fetching.run_fetch(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == FetchRunStatus.FAILED and "RuntimeError" in run.error


def test_finish_is_refused_unless_the_run_is_running(world):
    run = FetchRun.objects.create(practice=world.practice)
    with pytest.raises(RemittanceError) as refused:
        fetching.finish_run(run=run, report=fetching.FetchReport())
    assert refused.value.code == "wrong_status" and refused.value.field == "status"
    started = fetching.start_run(run_id=run.pk)
    assert started is not None and started.status == FetchRunStatus.RUNNING
    done = fetching.finish_run(run=started, report=fetching.FetchReport(stored=1, matched=4, failed=["RMT9: odd"]))
    assert (done.status, done.fetched, done.matched, done.problems) == (FetchRunStatus.DONE, 1, 4, ["RMT9: odd"])
    assert fetching.start_run(run_id=run.pk) is None


def test_run_against_the_sandbox(demo_remit, remit_sandbox):
    from sandbox.testing import SandboxApi

    invoice = collected_invoice(demo_remit, last_name="Robinson")
    api = SandboxApi(remit_sandbox)
    api.advance(130 + 3600 + 86400 + 5)
    api.close()
    run = FetchRun.objects.create(practice=demo_remit)
    fetching.run_fetch(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == FetchRunStatus.DONE, run.error
    assert run.fetched >= 1 and run.matched >= 1
    invoice.refresh_from_db()
    assert invoice.balance == 0


# -- the page and its fragment --------------------------------------------------------------------
@pytest.fixture
def biller_client(world, client_for):
    return client_for(world.user)


def _run(world, status, **fields):
    return FetchRun.objects.create(practice=world.practice, status=status, **fields)


@pytest.mark.parametrize("status", [FetchRunStatus.QUEUED, FetchRunStatus.RUNNING])
def test_fragment_of_a_moving_run_polls_with_a_refresh_link(world, biller_client, status):
    run = _run(world, status)
    html = biller_client.get(f"/remittances/fetch/{run.pk}/").content.decode()
    assert f'hx-get="/remittances/fetch/{run.pk}/?was={status}"' in html and 'hx-trigger="every 1s"' in html
    assert "<progress" in html and ">Refresh</a>" in html
    assert ("queued" if status == FetchRunStatus.QUEUED else "Fetching remittances") in html
    assert 'id="remittance-batches"' not in html  # the inbox comes once the run has finished
    # While the state is the one the page shows, the poll swaps nothing.
    assert biller_client.get(f"/remittances/fetch/{run.pk}/?was={status}").status_code == 204


def test_fragment_of_a_done_run_stops_polling_and_swaps_in_the_inbox(world, biller_client):
    from remit_helpers import receive

    batch = receive(world.practice, bundle([{"invoice": world.invoice()}]))
    run = _run(world, FetchRunStatus.DONE, fetched=1, matched=1, to_review=2, finished_at=timezone.now())
    answer = biller_client.get(f"/remittances/fetch/{run.pk}/?was=running")
    html = answer.content.decode()
    assert answer.status_code == 200 and "hx-get" not in html.split('id="remittance-tabs"')[0]
    assert "1 remittance fetched, 1 line matched" in html and "2 to review" in html
    assert 'id="remittance-batches" hx-swap-oob="true"' in html and batch.payment_reference in html
    assert 'id="remittance-tabs" aria-label="Remittance views" hx-swap-oob="true"' in html
    assert ">Refresh</a>" not in html


def test_fragment_of_a_failed_run_says_why(world, biller_client):
    run = _run(world, FetchRunStatus.FAILED, error="Healthcode is not set up yet.", finished_at=timezone.now())
    html = biller_client.get(f"/remittances/fetch/{run.pk}/?was=queued").content.decode()
    assert "The fetch from Healthcode failed" in html and "Healthcode is not set up yet." in html
    assert 'data-state="failed"' in html and "hx-get" not in html.split("</div>")[0]


def test_a_stale_run_stops_polling(world, biller_client):
    run = _run(world, FetchRunStatus.QUEUED)
    FetchRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
    html = biller_client.get(f"/remittances/fetch/{run.pk}/?was=queued").content.decode()
    assert "did not finish" in html and "hx-get" not in html.split("</div>")[0]


def test_the_list_page_shows_the_latest_run_after_a_reload(world, biller_client):
    page = biller_client.get("/remittances/").content.decode()
    assert '<div id="fetch-progress" data-state="">' in page.replace("\n", "")  # the target, empty
    _run(world, FetchRunStatus.DONE, fetched=3, matched=5, finished_at=timezone.now())
    running = _run(world, FetchRunStatus.RUNNING)
    page = biller_client.get("/remittances/").content.decode()
    assert f"/remittances/fetch/{running.pk}/?was=running" in page and "Fetching remittances" in page


def test_pressing_fetch_with_and_without_javascript(world, biller_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        answer = biller_client.post("/remittances/fetch/", HTTP_HX_REQUEST="true")
    run = FetchRun.objects.get(practice=world.practice)
    assert answer.status_code == 200 and f"/remittances/fetch/{run.pk}/?was=queued" in answer.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        answer = biller_client.post("/remittances/fetch/")
    assert answer.status_code == 302 and answer["Location"] == "/remittances/"
    assert FetchRun.objects.filter(practice=world.practice).count() == 1


def test_fetch_roles_and_practices(world, make_member, client_for, other_practice):
    run = _run(world, FetchRunStatus.DONE)
    reception = client_for(make_member(world.practice, Role.RECEPTIONIST))
    assert reception.get(f"/remittances/fetch/{run.pk}/").status_code == 200  # reading needs view_records
    assert reception.post("/remittances/fetch/").status_code == 403
    stranger = client_for(make_member(other_practice, Role.OWNER))
    assert stranger.get(f"/remittances/fetch/{run.pk}/").status_code == 404


def _as_context(client):
    import contextlib

    return contextlib.nullcontext(client)
