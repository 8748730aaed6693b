"""Indexes for the combined queue's two lists that are ordered across many practices at once.

A practice's own lists lead their indexes with the practice; across 50 practices such an index
cannot give the order, so PostgreSQL read and sorted every candidate (95,000 owing patient bills:
370 ms; 33,000 stored checks joined to their invoices: 160 ms). These lead with the order itself
and carry the practice, so the page walks the newest (or the oldest due) first and stops at 51.

- Patient debts, oldest due first: owing patient bills by COALESCE(due_date, invoice_date), id
  (bureaus.selectors.DUE_ON and billing.models.OWES, spelt as the ORM spells them).
- Stored checks, newest first: current (not stale) checks by invoice date, invoice."""

from django.db import migrations

BALANCE = "(((total - paid_total) - credited_total) - written_off_total)"
DEBTS = (
    "CREATE INDEX IF NOT EXISTS bureau_patient_debts_due ON billing_invoice "
    "((COALESCE(due_date, invoice_date)), id){include} "
    f"WHERE bill_to = 'patient' AND record_status = 'issued' AND {BALANCE} > 0"
)
CHECKS = (
    "CREATE INDEX IF NOT EXISTS bureau_checks_by_date ON healthcode_invoicecheck "
    "(invoice_date DESC, invoice_id DESC){include} WHERE NOT stale"
)


def create(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(DEBTS.format(include=" INCLUDE (practice_id)" if postgresql else ""))
    schema_editor.execute(CHECKS.format(include=" INCLUDE (practice_id, passed)" if postgresql else ""))
    if postgresql:
        schema_editor.execute("ANALYZE billing_invoice")
        schema_editor.execute("ANALYZE healthcode_invoicecheck")


def drop(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS bureau_patient_debts_due")
    schema_editor.execute("DROP INDEX IF EXISTS bureau_checks_by_date")


class Migration(migrations.Migration):
    dependencies = [
        ("bureaus", "0002_practice_debt_summary"),
        ("billing", "0007_failed_issued_index"),
        ("healthcode", "0008_stored_check_advice"),
    ]
    operations = [migrations.RunPython(create, drop)]
