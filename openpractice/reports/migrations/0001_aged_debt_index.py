"""The aged-debt index: a partial index of the invoices that still owe something, covering the
columns the report adds up, so the report reads only owing invoices and never the table.

Billing's model is not changed (the index belongs to the report that needs it). The predicate
spells the balance the way reports.selectors.OWING does, so PostgreSQL's planner can prove the
query implies it."""

from django.db import migrations

COLUMNS = "practice_id, bill_to, insurer_contact_id, patient_id, invoice_date"
PREDICATE = ("record_status = 'issued' AND NOT (total = ((paid_total + credited_total) + written_off_total))")


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    include = " INCLUDE (total, paid_total, credited_total, written_off_total)" if vendor == "postgresql" else ""
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS report_invoice_owing ON billing_invoice ({COLUMNS}){include} "
                          f"WHERE {PREDICATE}")


def drop(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS report_invoice_owing")


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial"), ("remittances", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
