"""Seed what the clearing house says about each insurer; `sync_healthcode_reference` refreshes it
from the insurer directory API. Time limits are public (HEALTHCODE.md); which insurers need a
diagnosis or agreed fees follows the sandbox's directory until a sync brings the live answer."""

from django.db import migrations

INSURERS = [
    # identifier, name, member check, diagnosis required, agreed fees required, time limit (months)
    ("bup", "Bupa", "database", True, True, 6),
    ("bui", "Bupa Global", "format", True, False, None),
    ("ppp", "AXA Health", "database", True, True, 6),
    ("nuh", "Aviva", "database", False, False, None),
    ("slh", "Vitality Health", "database", False, False, 3),
    ("cin", "Cigna International", "format", False, False, None),
    ("tih", "Trust In Health", "format", False, False, None),
    ("wpa", "WPA", "format", False, False, None),
    ("pzo", "Patientzone", "format", False, False, None),
]


def seed(apps, schema_editor):
    InsurerRules = apps.get_model("healthcode", "InsurerRules")
    for identifier, name, check, diagnosis, fees, months in INSURERS:
        InsurerRules.objects.update_or_create(healthcode_identifier=identifier, defaults={
            "name": name, "member_check": check, "requires_diagnosis": diagnosis,
            "requires_agreed_fees": fees, "time_limit_months": months})


class Migration(migrations.Migration):
    dependencies = [("healthcode", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
