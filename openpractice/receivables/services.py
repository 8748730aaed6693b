"""Everything collections writes: the chase schedule (later: chase runs, sends, the work queue)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from openpractice.receivables.errors import ReceivablesError
from openpractice.receivables.models import ChaseStage, StageKey
from openpractice.receivables.schedule import TEMPLATE_FIELDS, Stage, check_template, field_name

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
