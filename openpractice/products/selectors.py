"""Reads for products: search with filters, contract prices, and the accepted-codes check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet
from django.utils import timezone

from openpractice.coding.models import CodeSystem
from openpractice.coding.selectors import get_code, is_code_accepted
from openpractice.contacts.selectors import insurer_contacts
from openpractice.patients.keys import name_key, next_prefix
from openpractice.products.models import ContractPrice, Product


def search_products(
    *,
    practice,
    query: str = "",
    product_type: str = "",
    procedure_type: str = "",
    has_contract_with: int | None = None,
    include_archived: bool = False,
) -> QuerySet[Product]:
    qs = Product.objects.for_practice(practice)
    if not include_archived:
        qs = qs.filter(is_archived=False)
    if product_type:
        qs = qs.filter(product_type=product_type)
    if procedure_type:
        qs = qs.filter(procedure_type=procedure_type)
    if has_contract_with:
        qs = qs.filter(contracts__insurer_contact_id=has_contract_with).distinct()
    text = (query or "").strip()
    if text:
        key = name_key(text)
        condition = Q(name__icontains=text) | Q(procedure_code__iexact=text) | Q(industry_standard_code__iexact=text)
        if key:
            condition |= Q(name_key__gte=key, name_key__lt=next_prefix(key))
        qs = qs.filter(condition)
    return qs.order_by("name_key", "id")


def procedure_types_in_use(*, practice) -> list[str]:
    return list(
        Product.objects.for_practice(practice)
        .exclude(procedure_type="")
        .values_list("procedure_type", flat=True)
        .distinct()
        .order_by("procedure_type")
    )


def contracts_of(*, product: Product) -> QuerySet[ContractPrice]:
    return (
        ContractPrice.objects.filter(practice_id=product.practice_id, product=product)
        .select_related("insurer_contact__insurer")
        .order_by("insurer_contact__name_key", "valid_from")
    )


def price_for(*, product: Product, insurer_contact, on_date: date):
    """The contract price with this insurer on this date, else the list price."""
    contract = (
        contracts_of(product=product)
        .filter(insurer_contact=insurer_contact, valid_from__lte=on_date)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on_date))
        .first()
    )
    return contract.price if contract else product.list_price


@dataclass
class CodeWarning:
    insurer: str
    code: str
    label: str

    @property
    def message(self) -> str:
        return f"{self.insurer} does not list {self.label} {self.code} among the codes it accepts from this practice."


def code_warnings(*, product: Product, on_date: date | None = None) -> list[CodeWarning]:
    """For every insurer contact of the practice (with a directory entry) whose accepted-codes
    list leaves out this product's Procedure code or Industry standard code."""

    day = on_date or timezone.localdate()
    warnings = []
    for contact in insurer_contacts(practice=product.practice):
        for code, system, label in (
            (product.procedure_code, CodeSystem.CCSD, "Procedure code"),
            (product.industry_standard_code, CodeSystem.ISC, "Industry standard code"),
        ):
            if code and not is_code_accepted(
                practice=product.practice, insurer=contact.insurer, code=code, on_date=day, code_system=system
            ):
                warnings.append(CodeWarning(contact.name, code, label))
    return warnings


def code_description(*, practice, system: str, code: str) -> str:
    found = get_code(practice=practice, system=system, code=code) if code else None
    return found.description if found else ""
