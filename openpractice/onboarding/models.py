"""A consultant taken on from a template practice: what was asked for and what was copied. The
consultant's practitioner details wait here until they accept the invitation (receivers.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Onboarding(models.Model):
    template = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    practice = models.OneToOneField("practices.Practice", on_delete=models.CASCADE, related_name="+")
    consultant_email = models.EmailField()
    consultant_name = models.CharField(max_length=150)
    healthcode_identifier = models.CharField(max_length=10, blank=True)
    gmc_number = models.CharField(max_length=7, blank=True)
    specialty = models.CharField(max_length=120, blank=True)
    professional_title = models.CharField(max_length=120, blank=True)
    copied = models.JSONField(default=dict)  # what was copied: {"insurer contacts": 12, ...}
    profile_applied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["-created_at"]
