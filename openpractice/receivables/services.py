"""Everything collections writes: the chase schedule (later: chase runs, sends, the work queue)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from decimal import Decimal

from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from openpractice.billing import services as billing
from openpractice.billing.errors import BillingError
from openpractice.billing.models import BillTo, Invoice, RecordStatus
from openpractice.billing.money import format_gbp, parse_money
from openpractice.db.bulk import insert_rows
from openpractice.receivables import selectors
from openpractice.receivables.errors import ReceivablesError
from openpractice.receivables.models import (
    STAGE_ORDER,
    AccountActivity,
    ActivityKind,
    Channel,
    ChaseItem,
    ChaseRun,
    ChaseStage,
    Debt,
    ItemOutcome,
    RunStatus,
    StageKey,
    WriteOff,
    WriteOffEntry,
    WriteOffStatus,
)
from openpractice.receivables.schedule import (
    TEMPLATE_FIELDS,
    Rendered,
    Stage,
    check_template,
    field_name,
    render_stage,
)

MAX_DAYS = 3650


def check_schedule(stages: Sequence[Stage]) -> None:
    """Every stage once, in order; days overdue rising from stage to stage among those in use;
    every template readable with known merge fields. Raises naming the stage and the field."""
    if [s.key for s in stages] != list(StageKey.values):
        raise ReceivablesError(
            f"The schedule has the stages {', '.join(StageKey.labels)}, in that order.", field="stages"
        )
    previous: Stage | None = None
    for stage in stages:
        if not 0 <= stage.days_overdue <= MAX_DAYS:
            raise ReceivablesError(
                f"{stage.label}: days overdue from 0 to {MAX_DAYS}.", field=field_name(stage.key, "days_overdue")
            )
        if stage.enabled and previous is not None and stage.days_overdue <= previous.days_overdue:
            raise ReceivablesError(
                f"{stage.label}: more days overdue than {previous.label} ({previous.days_overdue}), "
                "so the stages go out in order.",
                field=field_name(stage.key, "days_overdue"),
            )
        for name in TEMPLATE_FIELDS:
            text = getattr(stage, name)
            if stage.enabled and not text.strip():
                raise ReceivablesError(
                    f"{stage.label}, {TEMPLATE_FIELDS[name]}: write the text (or turn the stage off).",
                    field=field_name(stage.key, name),
                    code="required",
                )
            check_template(text, key=stage.key, field=name)
        if stage.enabled:
            previous = stage


@transaction.atomic
def save_chase_schedule(*, practice, stages: Sequence[Stage], user=None) -> list[ChaseStage]:
    check_schedule(stages)
    saved = []
    for stage in stages:
        row, _ = ChaseStage.objects.update_or_create(
            practice=practice,
            key=stage.key,
            defaults={
                "days_overdue": stage.days_overdue,
                "enabled": stage.enabled,
                "email_subject": stage.email_subject.strip(),
                "email_body": stage.email_body,
                "letter_body": stage.letter_body,
                "updated_by": user,
            },
        )
        saved.append(row)
    return saved


# -- chase runs ---------------------------------------------------------------------------------


ITEM_COLUMNS = (
    "practice_id",
    "run_id",
    "invoice_id",
    "patient_id",
    "stage",
    "channel",
    "balance",
    "days_overdue",
    "outcome",
)


def create_chase_run(*, practice, today: dt.date | None = None, user=None) -> ChaseRun:
    """Today's chase run: one item per debt that needs a stage (selectors.chase_candidates),
    emailed where the patient has an email address, else a letter. Nothing is sent. Running it
    again the same day gives the same run."""
    today = today or timezone.localdate()
    with transaction.atomic():
        run, made = ChaseRun.objects.get_or_create(practice=practice, run_on=today, defaults={"created_by": user})
        if not made:
            return run
        # COPY on PostgreSQL (insert_rows): a day's run can hold most of 100,000 debts, which
        # bulk_create writes several times slower.
        insert_rows(
            ChaseItem._meta.db_table,
            ITEM_COLUMNS,
            [
                (
                    practice.pk,
                    run.pk,
                    c.invoice_id,
                    c.patient_id,
                    c.stage,
                    Channel.EMAIL if c.email else Channel.LETTER,
                    str(c.balance),
                    c.days_overdue,
                    ItemOutcome.PENDING,
                )
                for c in selectors.chase_candidates(practice=practice, today=today)
            ],
        )
    return run


def _send_email(*, to: str, subject: str, body: str, reply_to: str) -> None:
    EmailMessage(subject=subject, body=body, to=[to], reply_to=[reply_to] if reply_to else None).send()


@transaction.atomic
def send_chase_run(*, run: ChaseRun, include: Collection[int], user=None) -> dict[str, int]:
    """Send the items of a reviewed run that the biller left ticked (`include`, item ids): each
    still due is recorded as a chase_sent activity (the database refuses a stage twice for one
    debt) and emailed or marked as a letter to print; the rest are left out. As of the run's
    date, or today if later.

    One email per patient, not one per debt: a patient with several debts due a stage gets one
    message, the furthest stage's wording followed by the list of the debts it is about, sent once
    the transaction commits. Each debt's stage is still recorded on its own (with that stage's
    text). The counts are per item by outcome, and `emails`: the messages sent."""
    run = ChaseRun.objects.select_for_update().get(pk=run.pk)
    if run.status != RunStatus.REVIEW:
        raise ReceivablesError("This chase run has been sent already.", field="status", code="wrong_status")
    as_of = max(run.run_on, timezone.localdate())
    items = list(run.items.filter(outcome=ItemOutcome.PENDING).select_related("patient", "invoice"))
    wanted = {i.pk for i in items} & set(include)
    due = {
        c.invoice_id: c.stage
        for c in selectors.chase_candidates(
            practice=run.practice, today=as_of, invoice_ids=[i.invoice_id for i in items if i.pk in wanted]
        )
    }
    stages = {s.key: s for s in selectors.chase_schedule(practice=run.practice)}
    fields_of: dict[int, dict[str, str]] = {}
    emails: dict[int, list[tuple[ChaseItem, Rendered]]] = {}
    for item in items:
        if item.pk not in wanted:
            item.outcome = ItemOutcome.SKIPPED
        elif due.get(item.invoice_id) != item.stage:
            item.outcome = ItemOutcome.NOT_DUE
        else:
            if item.patient_id not in fields_of:
                fields_of[item.patient_id] = selectors.merge_fields(
                    practice=run.practice, patient=item.patient, today=as_of
                )
            rendered = render_stage(stages[item.stage], fields_of[item.patient_id])
            email = item.patient.email if item.channel == Channel.EMAIL else ""
            channel = Channel.EMAIL if email else Channel.LETTER
            try:
                with transaction.atomic():
                    AccountActivity.objects.create(
                        practice=run.practice,
                        patient_id=item.patient_id,
                        invoice_id=item.invoice_id,
                        kind=ActivityKind.CHASE_SENT,
                        stage=item.stage,
                        channel=channel,
                        on_date=as_of,
                        detail=f"{rendered.subject}\n\n{rendered.email}" if email else rendered.letter,
                        amount=item.balance,
                        chase_item=item,
                        created_by=user,
                    )
            except IntegrityError:
                item.outcome = ItemOutcome.NOT_DUE  # sent meanwhile (another run, another click)
            else:
                item.channel = channel
                item.outcome = ItemOutcome.EMAILED if email else ItemOutcome.TO_PRINT
                if email:
                    emails.setdefault(item.patient_id, []).append((item, rendered))
    reply_to = run.practice.email or ""
    for sends in emails.values():
        message = patient_message(sends)
        transaction.on_commit(lambda m=message: _send_email(**m, reply_to=reply_to))  # type: ignore[misc]
    ChaseItem.objects.bulk_update(items, ["outcome", "channel"])
    run.status, run.sent_at, run.sent_by = RunStatus.SENT, timezone.now(), user
    run.save(update_fields=["status", "sent_at", "sent_by"])
    counts: dict[str, int] = {}
    for item in items:
        counts[item.outcome] = counts.get(item.outcome, 0) + 1
    if emails:
        counts["emails"] = len(emails)
    return counts


def patient_message(sends: Sequence[tuple[ChaseItem, Rendered]]) -> dict[str, str]:
    """One patient's email of a chase run: alone, a debt's stage as rendered; several, the
    furthest stage's wording (the merge fields are the whole account's) and the debts listed."""
    ordered = sorted(sends, key=lambda s: (STAGE_ORDER[s[0].stage], s[0].invoice_id))
    item, lead = ordered[-1]
    body = lead.email
    if len(ordered) > 1:
        lines = "\n".join(
            f"- Invoice {i.invoice.number} of {i.invoice.invoice_date:%-d %B %Y}: {format_gbp(i.balance)} "
            f"({StageKey(i.stage).label.lower()}, {i.days_overdue} days overdue)"
            for i, _ in sorted(ordered, key=lambda s: (s[0].invoice.invoice_date, s[0].invoice_id))
        )
        body = f"{body.rstrip()}\n\nThis message is about these bills:\n{lines}\n"
    return {"to": item.patient.email, "subject": lead.subject, "body": body}


# -- the work queue: a debt's owner, notes, promises and disputes -------------------------------

MAX_PROMISE_DAYS = 365
MAX_TEXT = 2000


def _open_debt(invoice: Invoice) -> tuple[Invoice, Debt]:
    """The invoice locked (billing's lock order: the invoice before what hangs off it) and its
    debt row, made if it has none; refused unless it is an issued patient invoice."""
    invoice = billing.lock_invoice(invoice.pk, invoice.practice_id)
    if invoice.bill_to != BillTo.PATIENT or invoice.record_status != RecordStatus.ISSUED:
        raise ReceivablesError(
            "Only an issued patient invoice is a debt to work.", field="invoice", code="wrong_status"
        )
    debt, _ = Debt.objects.select_for_update().get_or_create(
        invoice=invoice, defaults={"practice_id": invoice.practice_id}
    )
    return invoice, debt


def _record(invoice: Invoice, kind: str, *, by, detail: str = "", amount: Decimal | None = None) -> AccountActivity:
    return AccountActivity.objects.create(
        practice_id=invoice.practice_id,
        patient_id=invoice.patient_id,
        invoice=invoice,
        kind=kind,
        on_date=timezone.localdate(),
        detail=detail,
        amount=amount,
        created_by=by,
    )


def _text(value: str, *, field: str, label: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ReceivablesError(f"{label}: write something.", field=field, code="required")
    if len(text) > MAX_TEXT:
        raise ReceivablesError(f"{label}: at most {MAX_TEXT} characters.", field=field)
    return text


@transaction.atomic
def assign_debt(*, invoice: Invoice, assignee_id: int | None, by=None) -> Debt:
    """Give the debt to a member who can chase debts (None: nobody)."""
    invoice, debt = _open_debt(invoice)
    names = dict(selectors.collectors(practice=invoice.practice))
    if assignee_id is not None and assignee_id not in names:
        raise ReceivablesError(
            "Assign to: choose someone in the practice who can chase debts.", field="assignee", code="invalid"
        )
    if debt.assigned_to_id == assignee_id:
        return debt
    debt.assigned_to_id = assignee_id
    debt.save(update_fields=["assigned_to", "updated_at"])
    _record(invoice, ActivityKind.ASSIGNED, by=by, detail=f"To {names[assignee_id]}" if assignee_id else "To nobody")
    return debt


@transaction.atomic
def add_note(*, invoice: Invoice, text: str, by=None) -> AccountActivity:
    invoice, _ = _open_debt(invoice)
    return _record(invoice, ActivityKind.NOTE, by=by, detail=_text(text, field="note", label="Note"))


@transaction.atomic
def promise_to_pay(*, invoice: Invoice, until: dt.date, amount, by=None, today: dt.date | None = None) -> Debt:
    """The patient promised `amount` by `until`: the chase pauses until then (rules.Holds)."""
    invoice, debt = _open_debt(invoice)
    today = today or timezone.localdate()
    if invoice.balance <= 0:
        raise ReceivablesError("Nothing is owed on this invoice.", field="amount", code="wrong_status")
    try:
        value = parse_money(amount, field="amount", label="Amount")
    except BillingError as exc:
        raise ReceivablesError(exc.message, field="amount") from None
    if value <= 0 or value > invoice.balance:
        raise ReceivablesError(
            f"Amount: more than £0.00 and at most the balance of £{invoice.balance:.2f}.", field="amount"
        )
    if not isinstance(until, dt.date) or until < today or until > today + dt.timedelta(days=MAX_PROMISE_DAYS):
        raise ReceivablesError(
            f"Promised by: a date from today to {MAX_PROMISE_DAYS} days ahead.", field="until", code="invalid"
        )
    debt.promised_until, debt.promised_amount = until, value
    debt.save(update_fields=["promised_until", "promised_amount", "updated_at"])
    _record(invoice, ActivityKind.PROMISE, by=by, amount=value, detail=f"To pay by {until:%-d %B %Y}")
    return debt


@transaction.atomic
def dispute_debt(*, invoice: Invoice, reason: str, by=None) -> Debt:
    """The patient disputes the bill: the chase pauses until the dispute is resolved."""
    invoice, debt = _open_debt(invoice)
    if debt.disputed:
        raise ReceivablesError("This debt is disputed already.", field="reason", code="wrong_status")
    debt.disputed, debt.dispute_reason = True, _text(reason, field="reason", label="Reason")[:300]
    debt.save(update_fields=["disputed", "dispute_reason", "updated_at"])
    _record(invoice, ActivityKind.DISPUTE, by=by, detail=debt.dispute_reason)
    return debt


@transaction.atomic
def resolve_dispute(*, invoice: Invoice, outcome: str, by=None) -> Debt:
    """The dispute is settled: the chase carries on from where it stopped."""
    invoice, debt = _open_debt(invoice)
    if not debt.disputed:
        raise ReceivablesError("This debt is not disputed.", field="outcome", code="wrong_status")
    debt.disputed, debt.dispute_reason = False, ""
    debt.save(update_fields=["disputed", "dispute_reason", "updated_at"])
    _record(invoice, ActivityKind.DISPUTE_RESOLVED, by=by, detail=_text(outcome, field="outcome", label="Outcome"))
    return debt


# -- write-offs: asked for by a biller, approved by the owner, reversible the ledger way ---------


@transaction.atomic
def request_write_off(*, invoice: Invoice, amount, reason: str, by=None) -> WriteOff:
    invoice, _ = _open_debt(invoice)
    try:
        value = parse_money(amount, field="amount", label="Amount")
    except BillingError as exc:
        raise ReceivablesError(exc.message, field="amount") from None
    if value <= 0 or value > invoice.balance:
        raise ReceivablesError(
            f"Amount: more than £0.00 and at most the balance of £{invoice.balance:.2f}.", field="amount"
        )
    text = _text(reason, field="write_off_reason", label="Reason")[:300]
    if WriteOff.objects.filter(invoice=invoice, status=WriteOffStatus.REQUESTED).exists():
        raise ReceivablesError(
            "A write-off of this debt is waiting for approval already.", field="amount", code="wrong_status"
        )
    asked = WriteOff.objects.create(
        practice_id=invoice.practice_id, invoice=invoice, amount=value, reason=text, requested_by=by
    )
    _record(invoice, ActivityKind.WRITE_OFF_REQUESTED, by=by, amount=value, detail=text)
    return asked


def _waiting(write_off: WriteOff) -> tuple[Invoice, WriteOff]:
    invoice, _ = _open_debt(write_off.invoice)
    write_off = WriteOff.objects.select_for_update().get(pk=write_off.pk)
    if write_off.status != WriteOffStatus.REQUESTED:
        raise ReceivablesError(
            f"This write-off was {write_off.get_status_display().lower()} already.", field="status", code="wrong_status"
        )
    return invoice, write_off


@transaction.atomic
def approve_write_off(*, write_off: WriteOff, by=None) -> WriteOffEntry:
    """Enter the write-off in the ledger and write it off the invoice (billing). Refused when the
    balance has fallen below it since it was asked for (decline and ask again)."""
    invoice, write_off = _waiting(write_off)
    if write_off.amount > invoice.balance:
        raise ReceivablesError(
            f"The balance is now £{invoice.balance:.2f}, less than the £{write_off.amount:.2f} asked for: "
            "decline it and ask again.",
            field="amount",
            code="wrong_status",
        )
    entry = WriteOffEntry.objects.create(
        practice_id=invoice.practice_id,
        invoice=invoice,
        write_off=write_off,
        amount=write_off.amount,
        reason=write_off.reason,
        posted_on=timezone.localdate(),
        created_by=by,
    )
    billing.adjust_written_off(invoice=invoice, amount=write_off.amount, reason=f"Written off: {write_off.reason}")
    write_off.status, write_off.decided_by, write_off.decided_at = WriteOffStatus.APPROVED, by, timezone.now()
    write_off.save(update_fields=["status", "decided_by", "decided_at"])
    _record(invoice, ActivityKind.WRITTEN_OFF, by=by, amount=write_off.amount, detail=write_off.reason)
    return entry


@transaction.atomic
def decline_write_off(*, write_off: WriteOff, by=None) -> WriteOff:
    invoice, write_off = _waiting(write_off)
    write_off.status, write_off.decided_by, write_off.decided_at = WriteOffStatus.DECLINED, by, timezone.now()
    write_off.save(update_fields=["status", "decided_by", "decided_at"])
    _record(invoice, ActivityKind.WRITE_OFF_DECLINED, by=by, amount=write_off.amount, detail=write_off.reason)
    return write_off


@transaction.atomic
def reverse_write_off(*, entry: WriteOffEntry, reason: str, by=None) -> WriteOffEntry:
    """Undo a write-off the ledger way: a row that is its exact negative (a row is reversed once);
    the invoice owes it again and the chase carries on."""
    invoice, _ = _open_debt(entry.invoice)
    entry = WriteOffEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.reverses_id is not None or WriteOffEntry.objects.filter(reverses=entry).exists():
        raise ReceivablesError("This write-off was reversed already.", field="status", code="wrong_status")
    text = _text(reason, field="reverse_reason", label="Reason")[:300]
    reversal = WriteOffEntry.objects.create(
        practice_id=invoice.practice_id,
        invoice=invoice,
        write_off=entry.write_off,
        amount=-entry.amount,
        reason=text,
        reverses=entry,
        posted_on=timezone.localdate(),
        created_by=by,
    )
    billing.adjust_written_off(invoice=invoice, amount=-entry.amount, reason=f"Write-off reversed: {text}")
    _record(invoice, ActivityKind.WRITE_OFF_REVERSED, by=by, amount=entry.amount, detail=text)
    return reversal
