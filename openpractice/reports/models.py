"""The reports app's rows: the monthly consultant report's (consultant_models.py)."""

from openpractice.reports.consultant_models import ConsultantReport, FeeAgreement, FeeKind, ReportRecipients

__all__ = ["ConsultantReport", "FeeAgreement", "FeeKind", "ReportRecipients"]
