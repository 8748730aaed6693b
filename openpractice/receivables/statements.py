"""Statements of account: for one patient (downloaded, or emailed from the account) or many (a
StatementRun: chosen on the accounts owing page, or "all owing over £X / older than N days").

A statement is the patient's account as it is (selectors.patient_account: the open items, what
they owe and the credit they hold), the payments of the last year, an aged summary of what is
owed and how to pay. Its balance is the account's balance: the same rows, summed once.

Printed by WeasyPrint like the invoice PDF (billing.pdf: the app's own static files only, no
request leaves the server), with a plain stylesheet of its own; the stylesheets are parsed once per process, so a run of a thousand
statements spends its time laying out pages, not reading CSS. Many statements in one PDF (for
posting) are one document, a statement a page group.

Sending records a `statement_sent` activity on the account and emails the PDF once the
transaction commits (as the chase run's emails): one email per patient.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
import os
import zipfile
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min, Q, Sum
from django.template.loader import render_to_string
from django.utils import timezone

from openpractice.billing.models import BALANCE, Payment
from openpractice.billing.money import format_gbp
from openpractice.patients.models import Patient
from openpractice.receivables import selectors
from openpractice.receivables.errors import ReceivablesError
from openpractice.receivables.models import AccountActivity, ActivityKind, Channel, StatementRun
from openpractice.receivables.selectors import DUE_ON, MONEY, ZERO, PatientAccount

# A run of more statements than this works in a task, its page showing the progress; a handful
# is done in the request.
IN_BACKGROUND_FROM = 6
MAX_PATIENTS = 20_000
PAYMENTS_SINCE_DAYS = 365
MAX_PAYMENTS = 25
# Aged bands of what is owed, by days past the due date: (label, first day, last day or None).
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("Not due", 0, 0),
    ("1–30", 1, 30),
    ("31–60", 31, 60),
    ("61–90", 61, 90),
    ("Over 90", 91, None),
)
PAY_WITHIN_DAYS = 14
PARALLEL_FROM = 8  # statements printed at once before worker processes share them
MERGED_UP_TO = 100  # a run's download: one PDF up to this many statements, else a zip of PDFs


@dataclasses.dataclass(frozen=True)
class AgedBand:
    label: str
    amount: Decimal


@dataclasses.dataclass(frozen=True)
class BankDetails:
    account_name: str
    sort_code: str
    account_number: str


@dataclasses.dataclass(frozen=True)
class Statement:
    practice: Any  # practices.Practice
    patient: Patient
    account: PatientAccount
    as_of: dt.date
    payments: list[Payment]
    aged: list[AgedBand]
    bank: BankDetails | None
    # Where to pay online (card_payments' "Pay online" link); empty when the practice takes no card payments.
    payment_link: str = ""

    @property
    def balance(self) -> Decimal:
        return self.account.balance

    @property
    def reference(self) -> str:
        """What the patient quotes when paying: their account number."""
        return f"P{self.patient.pk:06d}"

    @property
    def pay_by(self) -> dt.date:
        return self.as_of + dt.timedelta(days=PAY_WITHIN_DAYS)

    @property
    def filename(self) -> str:
        return f"statement-{self.reference}-{self.as_of:%Y%m%d}.pdf"


def aged_summary(account: PatientAccount) -> list[AgedBand]:
    """What is owed (items with a balance above zero) by how long past due; the bands add up to
    `account.owed` (credit is shown apart)."""
    totals = [ZERO for _ in AGE_BANDS]
    for item in account.items:
        if item.balance <= 0:
            continue
        for index, (_, first, last) in enumerate(AGE_BANDS):
            if item.days_overdue >= first and (last is None or item.days_overdue <= last):
                totals[index] += item.balance
                break
    return [AgedBand(label, amount) for (label, _, _), amount in zip(AGE_BANDS, totals)]


def bank_details(practice) -> BankDetails | None:
    """The practice's bank account for transfers, where its settings hold one (read by name, so
    a practice without the fields simply has no bank block)."""
    name = (getattr(practice, "bank_account_name", "") or "").strip()
    sort_code = (getattr(practice, "bank_sort_code", "") or "").strip()
    number = (getattr(practice, "bank_account_number", "") or "").strip()
    if not (sort_code and number):
        return None
    return BankDetails(account_name=name or practice.name, sort_code=sort_code, account_number=number)


def build_statement(*, practice, patient: Patient, as_of: dt.date | None = None) -> Statement:
    """One patient's statement as of a day: four queries."""
    as_of = as_of or timezone.localdate()
    account = selectors.patient_account(practice=practice, patient=patient, today=as_of)
    since = as_of - dt.timedelta(days=PAYMENTS_SINCE_DAYS)
    payments = sorted(
        (p for p in account.payments if p.received_on >= since),
        key=lambda p: (p.received_on, p.pk),
        reverse=True,
    )[:MAX_PAYMENTS]
    return Statement(
        practice=practice,
        patient=patient,
        account=account,
        as_of=as_of,
        payments=payments,
        aged=aged_summary(account),
        bank=bank_details(practice),
        payment_link=selectors.pay_online_url(practice=practice, patient=patient),
    )


# -- rendering ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _stylesheets():
    """The statement's stylesheets, parsed once per process."""
    from weasyprint import CSS

    # WeasyPrint logs each step of each document at INFO: a tenth of a run's time spent writing logs.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

    from openpractice.billing.pdf import static_only_fetcher

    fetcher = static_only_fetcher()
    return tuple(CSS(filename=path, url_fetcher=fetcher) for path in (finders.find("css/statement-print.css"),) if path)


def statements_html(statements: list[Statement]) -> str:
    return render_to_string("receivables/statements/pdf.html", {"statements": statements})


def html_pdf(html: str) -> bytes:
    """A statement page's HTML printed (no database: safe in a worker process)."""
    from weasyprint import HTML

    from openpractice.billing.pdf import static_only_fetcher

    return HTML(string=html, base_url=str(Path(settings.BASE_DIR)), url_fetcher=static_only_fetcher()).write_pdf(
        stylesheets=list(_stylesheets())
    )


def statements_pdf(statements: list[Statement]) -> bytes:
    """One PDF of one statement, or of many (for posting), each starting on a new page."""
    return html_pdf(statements_html(statements))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pdfs_of(statements: list[Statement], *, workers: int | None = None) -> list[bytes]:
    """Each statement's own PDF, in order. Printing is CPU work in Python (WeasyPrint): with
    several cores it is shared among forked worker processes, which get only HTML (the database
    stays with this process); one core, or one statement, prints here."""
    htmls = [statements_html([s]) for s in statements]
    workers = min(workers or _cores(), len(htmls))
    # A handful (a web request's) prints here: forking a threaded server for it is not worth it.
    if workers <= 1 or len(htmls) < PARALLEL_FROM or not hasattr(os, "fork"):
        return [html_pdf(h) for h in htmls]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _stylesheets()  # parsed before the fork: every worker inherits them
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(html_pdf, htmls, chunksize=max(1, len(htmls) // (workers * 4))))


def statement_pdf(*, practice, patient: Patient, as_of: dt.date | None = None) -> tuple[Statement, bytes]:
    statement = build_statement(practice=practice, patient=patient, as_of=as_of)
    return statement, statements_pdf([statement])


# -- which patients -----------------------------------------------------------------------------


def owing_patient_ids(
    *, practice, min_balance: Decimal | None = None, older_than_days: int | None = None, today: dt.date | None = None
) -> list[int]:
    """Patients who owe the practice (balance above zero, and above `min_balance` when given)
    whose oldest open bill fell due at least `older_than_days` ago: one grouped query."""
    today = today or timezone.localdate()
    grouped = (
        selectors.open_invoices(practice=practice)
        .values("patient_id")
        .annotate(owed=Sum(BALANCE, output_field=MONEY), oldest_due=Min(DUE_ON), n=Count("id"))
        .filter(Q(owed__gt=max(min_balance or ZERO, ZERO)))
    )
    if older_than_days:
        grouped = grouped.filter(Q(oldest_due__lte=today - dt.timedelta(days=older_than_days)))
    return list(grouped.order_by("oldest_due", "patient_id").values_list("patient_id", flat=True)[:MAX_PATIENTS])


# -- sending --------------------------------------------------------------------------------------


def _email(statement: Statement, pdf: bytes) -> EmailMessage:
    practice = statement.practice
    body = render_to_string("receivables/statements/email.txt", {"s": statement})
    message = EmailMessage(
        subject=f"Your statement from {practice.name}",
        body=body,
        to=[statement.patient.email],
        reply_to=[practice.email] if practice.email else None,
    )
    message.attach(statement.filename, pdf, "application/pdf")
    return message


def _record(statement: Statement, *, channel: str, user, run: StatementRun | None) -> AccountActivity:
    how = f"emailed to {statement.patient.email}" if channel == Channel.EMAIL else "to post"
    return AccountActivity.objects.create(
        practice=statement.practice,
        patient=statement.patient,
        kind=ActivityKind.STATEMENT_SENT,
        channel=channel,
        on_date=statement.as_of,
        amount=statement.balance,
        detail=f"Statement of {statement.as_of:%-d %B %Y} {how}: {format_gbp(statement.balance)} "
        f"({len(statement.account.items)} open item{'s' if len(statement.account.items) != 1 else ''}).",
        statement_run=run,
        created_by=user,
    )


@transaction.atomic
def send_statement(*, practice, patient: Patient, user=None, as_of: dt.date | None = None) -> AccountActivity:
    """Email one patient their statement (PDF attached, once the transaction commits) and record
    it on the account. Refused when the patient has no email address (download it to post)."""
    if not (patient.email or "").strip():
        raise ReceivablesError(
            f"{patient.full_name} has no email address: download the statement to post it.",
            field="email",
            code="required",
        )
    statement, pdf = statement_pdf(practice=practice, patient=patient, as_of=as_of)
    activity = _record(statement, channel=Channel.EMAIL, user=user, run=None)
    message = _email(statement, pdf)
    transaction.on_commit(message.send)
    return activity


def start_statement_run(
    *, practice, patient_ids, user=None, as_of: dt.date | None = None, background: bool | None = None
) -> StatementRun:
    """Record a run for the practice's patients asked for (others' ids are dropped), then work it:
    here for a handful, else in a task enqueued when the run commits."""
    wanted = list(dict.fromkeys(int(pk) for pk in patient_ids))
    if not wanted:
        raise ReceivablesError("Choose at least one patient to send a statement to.", field="patients", code="required")
    if len(wanted) > MAX_PATIENTS:
        raise ReceivablesError(f"At most {MAX_PATIENTS:,} statements in one run.", field="patients")
    found: set[int] = set()
    for start in range(0, len(wanted), 2000):
        found.update(
            Patient.objects.filter(practice=practice, pk__in=wanted[start : start + 2000]).values_list("pk", flat=True)
        )
    ours = [pk for pk in wanted if pk in found]
    if not ours:
        raise ReceivablesError("None of those patients is in this practice.", field="patients", code="invalid")
    with transaction.atomic():
        run = StatementRun.objects.create(
            practice=practice,
            patient_ids=ours,
            as_of=as_of or timezone.localdate(),
            requested=len(ours),
            created_by=user,
        )
        if background is None:
            background = len(ours) >= IN_BACKGROUND_FROM
        if background:
            from openpractice.receivables.tasks import send_statements

            transaction.on_commit(lambda: send_statements.enqueue(run.pk))
    if not background:
        work_statement_run(run=run)
        run.refresh_from_db()
    return run


def work_statement_run(*, run: StatementRun, chunk: int = 25) -> StatementRun:
    """Send the run's statements not sent yet, in order: each patient's statement is rendered,
    recorded and counted in one transaction (the run locked), its email sent when it commits.
    Safe to run again: it carries on from `done`, and the database refuses a second statement for
    a patient in one run."""
    practice = run.practice
    while True:
        run = StatementRun.objects.get(pk=run.pk)
        if run.finished:
            break
        ids = run.patient_ids[run.done : run.done + chunk]
        patients = {p.pk: p for p in Patient.objects.filter(practice=practice, pk__in=ids)}
        built = {
            pk: build_statement(practice=practice, patient=patients[pk], as_of=run.as_of)
            for pk in ids
            if pk in patients
        }
        # The chunk's emails printed together (on every core), before any lock is taken.
        emailed = [s for s in built.values() if s.patient.email]
        pdfs = dict(zip((s.patient.pk for s in emailed), pdfs_of(emailed)))
        for position, pk in enumerate(ids, start=run.done):
            _send_one(run=run, statement=built.get(pk), pdf=pdfs.get(pk, b""), position=position)
    if run.finished_at is None:
        StatementRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(finished_at=timezone.now())
        run.refresh_from_db()
    return run


def _send_one(*, run: StatementRun, statement: Statement | None, pdf: bytes, position: int) -> None:
    """One patient of the run (None: no longer in the practice): recorded, counted, emailed on commit."""
    with transaction.atomic():
        locked = StatementRun.objects.select_for_update().get(pk=run.pk)
        if locked.done != position:
            return  # another worker taking the run up again did this one
        emailed = to_post = 0
        if statement is not None:
            channel = Channel.EMAIL if pdf else Channel.LETTER
            try:
                with transaction.atomic():
                    _record(statement, channel=channel, user=run.created_by, run=run)
            except IntegrityError:
                pass  # recorded by an earlier attempt of this run
            else:
                if pdf:
                    emailed = 1
                    transaction.on_commit(_email(statement, pdf).send)
                else:
                    to_post = 1
        StatementRun.objects.filter(pk=locked.pk).update(
            done=F("done") + 1, emailed=F("emailed") + emailed, to_post=F("to_post") + to_post
        )


def run_patients(*, run: StatementRun, channel: str | None = None) -> list[Patient]:
    """The run's patients in the run's order; with `channel`, those whose statement went that way."""
    ids = list(run.patient_ids)
    if channel is not None:
        chosen = set(
            AccountActivity.objects.filter(practice_id=run.practice_id, statement_run=run, channel=channel).values_list(
                "patient_id", flat=True
            )
        )
        ids = [pk for pk in ids if pk in chosen]
    found = Patient.objects.in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def run_pdf(*, run: StatementRun, channel: str | None = None) -> bytes:
    """The run's statements in one PDF, as of the run's day (for posting: `channel=letter`)."""
    patients = run_patients(run=run, channel=channel)
    return statements_pdf([build_statement(practice=run.practice, patient=p, as_of=run.as_of) for p in patients])


def run_download(*, run: StatementRun, channel: str | None = None) -> tuple[bytes, str, str]:
    """The run's statements to print: one PDF for up to MERGED_UP_TO, else a zip of a PDF each
    (one WeasyPrint document of 1,000 statements held 2 GB; a PDF each is printed on every core
    and holds little). (content, file name, content type)."""
    patients = run_patients(run=run, channel=channel)
    built = [build_statement(practice=run.practice, patient=p, as_of=run.as_of) for p in patients]
    stem = f"statements-{run.as_of:%Y%m%d}-{run.pk}{'-to-post' if channel == Channel.LETTER else ''}"
    if len(built) <= MERGED_UP_TO:
        return statements_pdf(built), f"{stem}.pdf", "application/pdf"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PDFs are compressed already
        for number, (statement, pdf) in enumerate(zip(built, pdfs_of(built)), start=1):
            archive.writestr(f"{number:04d}-{statement.filename}", pdf)
    return buffer.getvalue(), f"{stem}.zip", "application/zip"
