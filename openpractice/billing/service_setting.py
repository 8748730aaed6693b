"""The Service setting a bill's products call for, and what each setting needs. Pure.

Healthcode's Setting is I (in-patient), D (day case) or O (out-patient / consulting room); an I or
D bill needs the admission date (healthcode/rules.py "admission-date-missing"). A product says
which by its procedure type ("Day case surgery", "Inpatient surgery": products.PROCEDURE_TYPES,
free text the practice may word its own way), so the invoice form sets the setting from the
products and never lets a day-case product go as a consulting-room bill."""

from __future__ import annotations

import re
from collections.abc import Iterable

from openpractice.billing.models import ServiceSetting
from openpractice.products.models import Product

# A stay: admitted, so the bill carries the admission date (and the discharge date once known).
STAYS = frozenset({ServiceSetting.INPATIENT, ServiceSetting.DAYCASE})

# How much of a stay each setting is: a bill's setting is at least what its products call for.
RANK: dict[str, int] = {
    ServiceSetting.CONSULTING_ROOM: 0,
    ServiceSetting.OUTPATIENT: 0,
    ServiceSetting.DAYCASE: 1,
    ServiceSetting.INPATIENT: 2,
}

_DAYCASE = re.compile(r"\bday[\s-]*case\b", re.I)
_INPATIENT = re.compile(r"\bin[\s-]*patient\b", re.I)


def setting_of_procedure_type(procedure_type: str) -> str | None:
    """The setting a product's procedure type calls for, or None when any setting will do."""
    text = procedure_type or ""
    if _INPATIENT.search(text):
        return ServiceSetting.INPATIENT
    if _DAYCASE.search(text):
        return ServiceSetting.DAYCASE
    return None


def setting_for_products(products: Iterable[Product]) -> str | None:
    """The setting a bill of these products needs: the biggest stay any of them calls for, or
    None when none calls for a stay (the bill's own choice stands)."""
    found = [s for s in (setting_of_procedure_type(p.procedure_type) for p in products) if s]
    return max(found, key=RANK.__getitem__) if found else None


def needs_admission_date(setting: str) -> bool:
    return setting in STAYS


def too_small_for(setting: str, products: Iterable[Product]) -> tuple[str, Product] | None:
    """(the setting needed, the product needing it) when `setting` is less of a stay than a
    product calls for, else None."""
    worst: tuple[str, Product] | None = None
    for product in products:
        needed = setting_of_procedure_type(product.procedure_type)
        if needed and RANK[needed] > RANK.get(setting, 0) and (worst is None or RANK[needed] > RANK[worst[0]]):
            worst = (needed, product)
    return worst
