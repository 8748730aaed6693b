"""On PostgreSQL, the database itself refuses overlapping contract periods for one insurer and
product (an exclusion constraint over daterange; btree_gist for the equality parts). SQLite has
no such constraint: there the service's check, under a row lock on the product, is the guard."""

from django.db import migrations

SQL = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE products_contractprice ADD CONSTRAINT contract_no_overlapping_periods
EXCLUDE USING gist (
    product_id WITH =,
    insurer_contact_id WITH =,
    daterange(valid_from, valid_to, '[]') WITH &&
);
"""
REVERSE = "ALTER TABLE products_contractprice DROP CONSTRAINT IF EXISTS contract_no_overlapping_periods;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE)


class Migration(migrations.Migration):
    dependencies = [("products", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
