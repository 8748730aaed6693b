from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from openpractice.healthcode.models import HealthcodeIntegration


@admin.register(HealthcodeIntegration)
class HealthcodeIntegrationAdmin(SimpleHistoryAdmin):
    list_display = ["practice", "environment", "site_id"]
    # The encrypted key is not editable and not shown.
    exclude = ["api_key_encrypted"]
