"""The invoice list's indexes: its keyset order (invoice_date, id) under the practice alone and
under each filter (Healthcode status, record status, insurer), so every page is a short range
scan whatever the size of the history (billing.selectors.invoice_page). The two status indexes
gain the id: the same columns plus the keyset's tie-break."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0004_healthcode_published_bill_statuses'),
        ('contacts', '0001_initial'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='invoice',
            name='invoice_hc_status',
        ),
        migrations.RemoveIndex(
            model_name='invoice',
            name='invoice_record_status',
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(fields=['practice', 'invoice_date', 'id'], name='invoice_list_order'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(fields=['practice', 'healthcode_status', 'invoice_date', 'id'], name='invoice_hc_status_list'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(fields=['practice', 'record_status', 'invoice_date', 'id'], name='invoice_record_status_list'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(fields=['practice', 'insurer_contact', 'invoice_date', 'id'], name='invoice_insurer_list'),
        ),
    ]
