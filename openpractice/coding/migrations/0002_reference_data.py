"""Load the reference data out of the box: published insurers, WHO ICD-10, sample CCSD codes."""

from django.db import migrations


def load(apps, schema_editor):
    from openpractice.coding.reference import load_reference_data

    load_reference_data(
        code_model=apps.get_model("coding", "Code"),
        word_model=apps.get_model("coding", "CodeWord"),
        insurer_model=apps.get_model("coding", "Insurer"),
        using=schema_editor.connection.alias,
    )


def unload(apps, schema_editor):
    alias = schema_editor.connection.alias
    apps.get_model("coding", "Code").objects.using(alias).filter(practice__isnull=True).delete()
    apps.get_model("coding", "Insurer").objects.using(alias).filter(practice__isnull=True, source="published").delete()


class Migration(migrations.Migration):
    dependencies = [("coding", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
