"""The clearing house's insurer list, read into the practice's insurer directory.

Healthcode publishes its insurers (FHIR `Organization`s, from the discovery document's
`list_insurers_endpoint`); identifiers it does not publish on the web (Alliance Health, Allianz
Partners, Healix, Willis Towers Watson) are only known this way, so the shipped directory keeps
them blank and this sync fills them. Run on demand ("Sync from Healthcode" on the insurer
directory page) and on the schedule (`manage.py sync_healthcode`, once a day per practice).

All or nothing: every page of the list is read and checked before anything is written; a reply
that is not what the API promises changes nothing and says what was wrong. Fields and extensions
it does not know are ignored (Healthcode may add them without notice). Writing is the coding
app's (`coding.services.apply_clearing_house_directory`): it never overwrites an identifier an
administrator set by hand, and reports it instead."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from openpractice.billing.models import Invoice
from openpractice.coding.errors import CodingError
from openpractice.coding.models import MemberCheck
from openpractice.coding.services import DirectoryEntry, DirectorySyncOutcome, apply_clearing_house_directory
from openpractice.healthcode import answers, stored_checks
from openpractice.healthcode.client import HealthcodeError
from openpractice.healthcode.connection import client_for_practice, is_tested, require_tested
from openpractice.healthcode.errors import SubmissionError
from openpractice.healthcode.models import HealthcodeIntegration, InsurerRules

PAGE = 100
MAX_PAGES = 50
INSURER_SYSTEM = f"{answers.NS}/sid/insurer-identifier"
# The schedule syncs a practice's directory when its last sync is older than this.
SYNC_EVERY = dt.timedelta(hours=24)


class DirectoryReplyError(SubmissionError):
    """The clearing house's insurer list could not be read; nothing was changed."""

    default_code = "bad_answer"


def fetch_insurer_list(*, practice) -> list[dict]:
    """Every Organization of the clearing house's insurer list, all pages (no writes)."""
    found: list[dict] = []
    with client_for_practice(practice) as client:
        for page in range(1, MAX_PAGES + 1):
            try:
                answer = client.list_insurers(page=page, count=PAGE)
            except HealthcodeError as exc:
                raise DirectoryReplyError(_nothing_changed(exc.message), code=exc.code) from None
            if answer.status_code != 200:
                raise DirectoryReplyError(
                    _nothing_changed(f"Healthcode answered the insurer list with HTTP {answer.status_code}.")
                )
            try:
                body = answers.parse_json(answer.text)
                organizations = answers.bundle_resources(body, "Organization")
            except answers.AnswerError as exc:
                raise DirectoryReplyError(_nothing_changed(f"Healthcode's insurer list: {exc.message}")) from None
            found += organizations
            if len(organizations) < PAGE or len(found) >= answers.paging_total(body):
                break
    return found


def _nothing_changed(reason: str) -> str:
    return f"The insurer directory was not synced from Healthcode, and nothing was changed: {reason}"


def _extensions(organization: dict) -> dict[str, object]:
    found: dict[str, object] = {}
    for ext in organization.get("extension") or []:
        if isinstance(ext, dict):
            name = str(ext.get("url", "")).rsplit("/", 1)[-1]
            found.setdefault(name, next((v for k, v in ext.items() if k.startswith("value")), None))
    return found


def _identifier(organization: dict) -> str:
    identifiers = [i for i in organization.get("identifier") or [] if isinstance(i, dict) and i.get("value")]
    chosen = next((i for i in identifiers if i.get("system") == INSURER_SYSTEM), identifiers[0] if identifiers else {})
    return str(chosen.get("value") or "").strip().lower()


def directory_entries(organizations: list[dict]) -> list[DirectoryEntry]:
    """The insurers the list names, active ones only. An Organization without an identifier or a
    name is a bad reply (DirectoryReplyError); an unknown membership-check value reads as a format
    check (the check needing the fewest details)."""
    entries = []
    for position, organization in enumerate(organizations, start=1):
        if not isinstance(organization, dict):
            raise DirectoryReplyError(_nothing_changed(f"insurer {position} of the list is not an Organization."))
        if organization.get("active") is False:
            continue
        identifier, name = _identifier(organization), organization.get("name")
        if not identifier or not isinstance(name, str) or not name.strip():
            raise DirectoryReplyError(
                _nothing_changed(f"insurer {position} of the list has no {'identifier' if not identifier else 'name'}.")
            )
        check = _extensions(organization).get("member-check")
        entries.append(
            DirectoryEntry(
                identifier=identifier,
                name=name.strip(),
                member_check=str(check) if check in MemberCheck.values else MemberCheck.FORMAT,
            )
        )
    return entries


def _insurer_rules(organization: dict) -> dict:
    ext = _extensions(organization)
    months = ext.get("time-limit-months")
    return {
        "name": str(organization.get("name") or "")[:120],
        "member_check": ext.get("member-check") if ext.get("member-check") in MemberCheck.values else "format",
        "requires_diagnosis": ext.get("requires-diagnosis") is True,
        "requires_agreed_fees": ext.get("requires-agreed-fees") is True,
        "time_limit_months": months if isinstance(months, int) and 0 < months < 1000 else None,
        "membership_formats": str(ext.get("membership-number-formats") or "")[:500],
        "synced_at": timezone.now(),
    }


def store_insurer_rules(organizations: list[dict]) -> int:
    """What the clearing house says about each insurer (diagnosis required, agreed fees, time
    limit), for the pre-submission check (InsurerRules)."""
    stored = 0
    before = {row.healthcode_identifier: _checked(row) for row in InsurerRules.objects.all()}
    changed = []
    for organization in organizations:
        identifier = _identifier(organization) if isinstance(organization, dict) else ""
        if identifier and len(identifier) <= 10:
            row, _ = InsurerRules.objects.update_or_create(
                healthcode_identifier=identifier, defaults=_insurer_rules(organization)
            )
            if before.get(identifier) != _checked(row):
                changed.append(identifier)
            stored += 1
    if changed:  # the stored checks of bills to those insurers, in every practice
        stored_checks.mark_invoices_stale(
            Invoice.objects.filter(insurer_contact__insurer__healthcode_identifier__in=changed)
        )
    return stored


def _checked(row: InsurerRules) -> tuple:
    """What the pre-submission check reads of an insurer's rules (checking.DatabaseKnowledge.insurer)."""
    return (row.member_check, row.requires_diagnosis, row.requires_agreed_fees, row.time_limit_months)


def sync_insurer_directory(*, practice) -> DirectorySyncOutcome:
    """Read the clearing house's insurer list, then in one transaction fill the practice's
    directory and the insurer rules, and record when. No transaction is held during the calls."""
    require_tested(practice=practice)
    organizations = fetch_insurer_list(practice=practice)
    entries = directory_entries(organizations)
    try:
        with transaction.atomic():
            outcome = apply_clearing_house_directory(practice=practice, entries=entries)
            store_insurer_rules(organizations)
            HealthcodeIntegration.objects.filter(practice=practice).update(
                directory_synced_at=timezone.now(), directory_sync_outcome=outcome.summary[:2000]
            )
    except CodingError as exc:  # the list named an impossible identifier, or one twice
        raise DirectoryReplyError(_nothing_changed(exc.message)) from None
    return outcome


def sync_due_directories(*, now: dt.datetime | None = None) -> dict:
    """The schedule's part: every practice whose tested credentials have not synced the directory
    in the last SYNC_EVERY. A practice whose sync fails is logged and tried again next time."""
    now = now or timezone.now()
    counts = {"directories synced": 0, "directories not synced": 0}
    due = HealthcodeIntegration.objects.select_related("practice").exclude(last_test_ok=False)
    for integration in due:
        if not is_tested(integration):
            continue
        if integration.directory_synced_at and now - integration.directory_synced_at < SYNC_EVERY:
            continue
        try:
            sync_insurer_directory(practice=integration.practice)
        except SubmissionError:  # not tested (HealthcodeSetupError) or a bad reply: nothing changed
            counts["directories not synced"] += 1
        else:
            counts["directories synced"] += 1
    return counts
