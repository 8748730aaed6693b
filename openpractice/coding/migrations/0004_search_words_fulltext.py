"""Description search moves from one row per (code, word) to the database's full-text index of
`Code.search_words`: FTS5 on SQLite, GIN on PostgreSQL (see coding/search_index.py)."""

from django.db import migrations, models


def fill_search_words(apps, schema_editor):
    from openpractice.coding.search_index import search_text

    alias = schema_editor.connection.alias
    Code = apps.get_model("coding", "Code")
    batch = []
    for pk, description in Code.objects.using(alias).values_list("pk", "description").iterator(chunk_size=5000):
        batch.append(Code(pk=pk, search_words=search_text(description)))
        if len(batch) == 2000:
            Code.objects.using(alias).bulk_update(batch, ["search_words"])
            batch = []
    Code.objects.using(alias).bulk_update(batch, ["search_words"])


def fill_word_rows(apps, schema_editor):
    """Reverse: the word rows of the previous design, from the descriptions."""
    from openpractice.coding.search_index import indexed_words

    alias = schema_editor.connection.alias
    Code, CodeWord = apps.get_model("coding", "Code"), apps.get_model("coding", "CodeWord")
    rows = [CodeWord(code_id=pk, word=word)
            for pk, description in Code.objects.using(alias).values_list("pk", "description").iterator(chunk_size=5000)
            for word in indexed_words(description)]
    CodeWord.objects.using(alias).bulk_create(rows, batch_size=5000)


def install(apps, schema_editor):
    from openpractice.coding import search_index

    search_index.install(schema_editor)


def uninstall(apps, schema_editor):
    from openpractice.coding import search_index

    search_index.uninstall(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('coding', '0003_codeword_related_name'),
    ]

    operations = [
        migrations.AddField(
            model_name='code',
            name='search_words',
            field=models.TextField(blank=True, default='', editable=False),
        ),
        migrations.RunPython(fill_search_words, fill_word_rows),
        migrations.RunPython(install, uninstall),
        migrations.DeleteModel(
            name='CodeWord',
        ),
    ]
