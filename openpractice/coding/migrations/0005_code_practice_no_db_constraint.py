"""Code.practice without a database foreign key or its own index (see docs/architecture.md, Coding).

PostgreSQL checked the deferred foreign key once per row at commit: ~0.9 s of a 100,000-code
import. Practices are deleted through Django, which deletes their codes itself (on_delete), and
codes are written only by coding.services with a saved practice. The practice_id index duplicated
the leading column of code_unique_in_practice, which serves `practice_id = x` lookups too.
On SQLite the AlterField rebuilds coding_code, which drops the full-text triggers: reinstall them.
"""

import django.db.models.deletion
from django.db import migrations, models


def reinstall_search_index(apps, schema_editor):
    from openpractice.coding import search_index

    search_index.install(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ("coding", "0004_search_words_fulltext"),
        ("practices", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="code",
            name="practice",
            field=models.ForeignKey(
                blank=True, db_constraint=False, db_index=False, null=True,
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="practices.practice",
            ),
        ),
        migrations.RunPython(reinstall_search_index, migrations.RunPython.noop),
    ]
