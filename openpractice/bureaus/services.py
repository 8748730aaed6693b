"""Writes of the bureau: its set-up (bureau, practices, staff) and the actions over several
practices at once. Each practice is still acted for by its own app's service, with its own
Healthcode credentials and site: the bureau only groups the work and records the run."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from openpractice.bureaus import debt_summaries, selectors
from openpractice.bureaus.errors import BureauError, Code
from openpractice.bureaus.models import Bureau, BureauPractice, BureauRun, BureauStaff, RunKind
from openpractice.bureaus.selectors import AgedDebt, Filters, Workspace, chosen_bills
from openpractice.healthcode import connection, stored_checks
from openpractice.healthcode import submission as hc
from openpractice.healthcode.errors import HealthcodeSetupError
from openpractice.practices.models import Practice
from openpractice.practices.roles import Capability
from openpractice.remittances import fetching


# -- set-up ---------------------------------------------------------------------------------------
@transaction.atomic
def create_bureau(*, name: str) -> Bureau:
    name = (name or "").strip()
    if not name:
        raise BureauError("Give the bureau a name.", field="name", code=Code.INVALID)
    return Bureau.objects.create(name=name)


@transaction.atomic
def add_practice(*, bureau: Bureau, practice: Practice) -> BureauPractice:
    """The bureau manages this practice from now on (a practice has one bureau at most)."""
    link = BureauPractice.objects.select_for_update().filter(practice=practice).first()
    if link is not None and link.bureau_id != bureau.pk:
        raise BureauError(f"{practice.name} is managed by another bureau already.", field="practice", code=Code.INVALID)
    return link or BureauPractice.objects.create(bureau=bureau, practice=practice)


@transaction.atomic
def add_staff(*, bureau: Bureau, user) -> BureauStaff:
    """The user works for the bureau: the combined pages, over the bureau's practices they are a
    member of (membership of each practice is still given by the practice, as ever)."""
    staff, _ = BureauStaff.objects.get_or_create(bureau=bureau, user=user)
    if not staff.is_active:
        staff.is_active = True
        staff.save(update_fields=["is_active"])
    return staff


def _skip(practice: Practice, why: str) -> dict:
    return {"practice_id": practice.pk, "practice": practice.name, "why": why}


# -- across practices -----------------------------------------------------------------------------
def submit_across(*, space: Workspace, user, invoice_ids: list[int]) -> BureauRun:
    """Submit the ticked bills of several practices in one action: per practice, healthcode's own
    bulk submission (`submit_many`: the bills checked again, queued, and sent with that practice's
    credentials to its own site). Bills of practices where the user may not bill are not found.
    A practice whose Healthcode connection has not passed its test is skipped, saying so.

    Not one transaction: each practice's run commits on its own, as a one-practice bulk run
    does chunk by chunk, so one practice's problem never holds back another's bills."""
    if space.bureau is None:
        raise BureauError("You do not work for a bureau.", code=Code.INVALID)
    wanted = sorted({int(i) for i in invoice_ids})
    if not wanted:
        raise BureauError("Tick the bills to submit first.", field="invoice_ids", code=Code.NOTHING_CHOSEN)
    by_practice: dict[int, list[int]] = defaultdict(list)
    for pk, practice_id in chosen_bills(space=space, invoice_ids=wanted).values_list("pk", "practice_id"):
        by_practice[practice_id].append(pk)
    if not by_practice:
        raise BureauError("None of those bills can be submitted by you.", field="invoice_ids", code=Code.NOTHING_CHOSEN)
    run = BureauRun.objects.create(bureau=space.bureau, kind=RunKind.SUBMISSION, created_by=user, requested=len(wanted))
    skipped = []
    for practice in space.practices(Capability.BILLING):
        ids = by_practice.get(practice.pk)
        if not ids:
            continue
        try:
            connection.require_tested(practice=practice)
        except HealthcodeSetupError as exc:
            skipped.append(_skip(practice, exc.message))
            continue
        bulk = hc.submit_many(practice=practice, invoice_ids=ids, user=user)
        run.submissions.add(bulk)
    if skipped:
        run.skipped = skipped
        run.save(update_fields=["skipped"])
    return run


def fetch_across(*, space: Workspace, user, practice_ids: list[int] | None = None) -> BureauRun:
    """Fetch remittances for every practice where the user may bill (or those asked for): per
    practice, remittances' own fetch run, queued for the worker, with that practice's credentials.
    A practice without a tested Healthcode connection is skipped, saying so."""
    if space.bureau is None:
        raise BureauError("You do not work for a bureau.", code=Code.INVALID)
    practices = [p for p in space.practices(Capability.BILLING) if practice_ids is None or p.pk in practice_ids]
    if not practices:
        raise BureauError("There is no practice you may fetch remittances for.", code=Code.NOTHING_CHOSEN)
    run = BureauRun.objects.create(bureau=space.bureau, kind=RunKind.REMITTANCE_FETCH, created_by=user)
    skipped = []
    for practice in practices:
        try:
            connection.require_tested(practice=practice)
        except HealthcodeSetupError as exc:
            skipped.append(_skip(practice, exc.message))
            continue
        run.fetches.add(fetching.request_fetch(practice=practice, user=user))
    if skipped:
        run.skipped = skipped
        run.save(update_fields=["skipped"])
    return run


def queue_rechecks(*, space: Workspace, practice_ids) -> int:
    """Queue the recheck task of each of these practices (at most once a minute each, as a
    practice's own page does): their pending bills are checked off the request. How many queued."""
    wanted = set(practice_ids)
    return sum(stored_checks.queue_recheck(practice=p) for p in space.practices(Capability.BILLING) if p.pk in wanted)


# -- aged debt by practice ------------------------------------------------------------------------
def aged_debt_for(*, space: Workspace, filters: Filters | None = None, today: dt.date | None = None) -> AgedDebt:
    """The combined page's aged debt by practice, from the kept counts (debt_summaries): practices
    never counted, or counted before today, are counted now; counts older than a couple of
    minutes are shown with their time and counted again by the worker. One practice alone (the
    practice filter) is counted afresh, as its own report is."""
    filters = filters or Filters()
    today = today or timezone.localdate()
    if filters.practice_id is not None:
        return selectors.aged_debt(space=space, filters=filters, today=today)
    ids = space.practice_ids(Capability.VIEW_RECORDS)
    found = debt_summaries.kept(practice_ids=ids, today=today)
    if found.missing:
        debt_summaries.refresh(practice_ids=found.missing, today=today)
        found = debt_summaries.kept(practice_ids=ids, today=today)
    if found.stale:
        debt_summaries.queue_refresh(practice_ids=found.stale)
    return selectors.aged_debt_of(space=space, debts=found.debts, filters=filters, counted_at=found.counted_at)


def count_debts_again(*, space: Workspace) -> int:
    """ "Count again now": every practice of the person's, in the request. How many practices."""
    return debt_summaries.refresh(practice_ids=space.practice_ids(Capability.VIEW_RECORDS))
