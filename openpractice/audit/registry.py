"""What counts as a read, in one table: URL name -> what was read.

Only the named views are logged, and only when they answer a GET with 200: lists, type-ahead,
fragments and static files are not in the table, so they cost a dictionary look-up and nothing
more. A new record page or export is one line here.
"""

from __future__ import annotations

from dataclasses import dataclass

from openpractice.audit.models import ReadKind, ReadVia


@dataclass(frozen=True)
class Read:
    kind: str
    object_type: str
    via: str
    # The URL argument that holds the record's id; None for an export of many records.
    kwarg: str | None = None
    # A page that is a read only when it answers as a CSV download (reports' ?format=csv).
    csv_only: bool = False


_PATIENT_PAGE = Read(ReadKind.PATIENT, "patient", ReadVia.PAGE, "patient_id")
_INVOICE_PAGE = Read(ReadKind.INVOICE, "invoice", ReadVia.PAGE, "invoice_id")
_REPORT_EXPORT = Read(ReadKind.EXPORT, "report", ReadVia.EXPORT, csv_only=True)

READS: dict[str, Read] = {
    "patients:detail": _PATIENT_PAGE,
    "patients:edit": _PATIENT_PAGE,
    "billing:detail": _INVOICE_PAGE,
    "billing:edit": _INVOICE_PAGE,
    "billing:pdf": Read(ReadKind.INVOICE_PDF, "invoice", ReadVia.EXPORT, "invoice_id"),
    "reports:index": _REPORT_EXPORT,
    "reports:aged_debt": _REPORT_EXPORT,
    "reports:bills": _REPORT_EXPORT,
    "reports:payments": _REPORT_EXPORT,
    "reports:days": _REPORT_EXPORT,
    "api:get_patient": Read(ReadKind.PATIENT, "patient", ReadVia.API, "patient_id"),
    "api:get_invoice": Read(ReadKind.INVOICE, "invoice", ReadVia.API, "invoice_id"),
    # Exporting the read log is itself a read.
    "audit:read_log": Read(ReadKind.EXPORT, "read_log", ReadVia.EXPORT, csv_only=True),
}

# The model behind each object type, by app label: the log page names records ("Oliver Bennett",
# "Invoice INV000042") through Django's app registry, so this low app imports none of them.
RECORD_MODELS: dict[str, str] = {"patient": "patients.Patient", "invoice": "billing.Invoice"}
RECORD_TYPES = [("patient", "Patient"), ("invoice", "Invoice")]
