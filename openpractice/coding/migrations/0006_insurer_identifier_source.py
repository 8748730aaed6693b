from django.db import migrations, models


def record_where_identifiers_came_from(apps, schema_editor):
    """Published entries' identifiers were shipped; a practice's own were typed by an administrator."""
    insurer = apps.get_model("coding", "Insurer").objects.using(schema_editor.connection.alias)
    insurer.filter(practice__isnull=True).exclude(healthcode_identifier="").update(identifier_source="shipped")
    insurer.filter(practice__isnull=False).exclude(healthcode_identifier="").update(identifier_source="manual")


class Migration(migrations.Migration):
    dependencies = [
        ("coding", "0005_code_practice_no_db_constraint"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalinsurer",
            name="identifier_source",
            field=models.CharField(
                blank=True,
                choices=[
                    ("shipped", "Shipped with OpenPractice"),
                    ("clearing_house", "From the clearing house"),
                    ("manual", "Set by hand"),
                ],
                default="",
                max_length=16,
                verbose_name="identifier from",
            ),
        ),
        migrations.AddField(
            model_name="insurer",
            name="identifier_source",
            field=models.CharField(
                blank=True,
                choices=[
                    ("shipped", "Shipped with OpenPractice"),
                    ("clearing_house", "From the clearing house"),
                    ("manual", "Set by hand"),
                ],
                default="",
                max_length=16,
                verbose_name="identifier from",
            ),
        ),
        migrations.RunPython(record_where_identifiers_came_from, migrations.RunPython.noop),
    ]
