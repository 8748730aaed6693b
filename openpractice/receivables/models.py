"""Collecting what patients owe: the practice's chase schedule, chase runs, each debt's working
state and the account's activity.

- ChaseStage: one stage of the practice's chase schedule (statement, reminders, final notice,
  referral to collection) with the days overdue it waits for and its email and letter templates.
  A practice without rows uses `schedule.DEFAULT_STAGES`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from openpractice.practices.tenancy import PracticeScopedQuerySet


class StageKey(models.TextChoices):
    """The stages in their order: a debt only ever moves forward through them."""

    STATEMENT = "statement", "Statement"
    REMINDER = "reminder", "Reminder"
    SECOND_REMINDER = "second_reminder", "Second reminder"
    FINAL_NOTICE = "final_notice", "Final notice"
    COLLECTION = "collection", "Refer to collection"


STAGE_ORDER: dict[str, int] = {key: position for position, key in enumerate(StageKey.values)}


class ChaseStage(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=16, choices=StageKey.choices)
    days_overdue = models.PositiveSmallIntegerField("days overdue")
    enabled = models.BooleanField(default=True)
    email_subject = models.CharField("email subject", max_length=200)
    email_body = models.TextField("email")
    letter_body = models.TextField("letter")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "key"], name="chase_stage_once_per_practice"),
            models.CheckConstraint(condition=Q(days_overdue__lte=3650), name="chase_stage_days_within_ten_years"),
        ]

    def __str__(self) -> str:
        return f"{self.get_key_display()} at {self.days_overdue} days"
