"""Load whatever reference data is missing (the migration does this; useful after a flush)."""

from django.core.management.base import BaseCommand

from openpractice.coding.reference import load_reference_data


class Command(BaseCommand):
    help = "Load the published insurer directory, the WHO ICD-10 and the sample CCSD codes (idempotent)."

    def handle(self, *args, **options):
        counts = load_reference_data()
        self.stdout.write(
            f"Insurers added: {counts['insurers']}; ICD-10 codes added: {counts['icd10']}; "
            f"sample CCSD codes added: {counts['samples']}."
        )
