"""Insurer bills that could go to Healthcode now, indexed alone (billing.selectors
submittable_candidates / submittable_matching): the invoice list counts them (up to 1,000) on
every page for "Select all matching". Without it PostgreSQL read the table from wherever a
synchronised scan stood until 1,001 matched: 2-120 ms at 1,000,000 invoices, by luck.

Statistics on the three status columns together (PostgreSQL): the planner knew neither that a
patient's bill is never "submitted" nor how few insurer bills wait, and guessed 133,000 rows for
8,500."""

from django.db import migrations, models

STATS = "invoice_status_stats"


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {STATS} (mcv) ON healthcode_status, bill_to, record_status FROM billing_invoice"
        )
        schema_editor.execute("ANALYZE billing_invoice")


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATS}")


class Migration(migrations.Migration):
    dependencies = [("billing", "0005_list_keyset_indexes")]

    operations = [
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                condition=models.Q(("bill_to", "insurer"), ("healthcode_status__in", ["not_submitted", "failed"]))
                & ~models.Q(record_status="void"),
                fields=["practice", "invoice_date", "id"],
                name="invoice_submittable",
            ),
        ),
        migrations.RunPython(create_statistics, drop_statistics),
    ]
