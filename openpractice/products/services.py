"""Everything that writes products and contract prices: keyword arguments, one transaction,
ProductError naming the field and what would be valid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from openpractice.coding.models import CodeSystem
from openpractice.coding.selectors import get_code
from openpractice.contacts.models import Contact, ContactType
from openpractice.patients.keys import name_key
from openpractice.products.errors import ProductError
from openpractice.products.models import ContractPrice, Product, ProductType, VatTreatment

FIELDS = (
    "product_type",
    "name",
    "procedure_type",
    "duration_minutes",
    "list_price",
    "vat_treatment",
    "industry_standard_code",
    "procedure_code",
)
PENNY = Decimal("0.01")


def money(value, *, field: str, label: str) -> Decimal:
    """A non-negative amount in pounds with at most 2 decimal places (never a float)."""
    if isinstance(value, float):
        value = str(value)
    try:
        amount = Decimal(str(value).strip().replace("£", "").replace(",", ""))
    except (InvalidOperation, TypeError, ValueError):
        raise ProductError(f"Enter the {label} in pounds, such as 180.00.", field=field) from None
    if not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -2 or amount >= Decimal("100000000"):
        raise ProductError(f"Enter the {label} in pounds and pence, 0 or more, such as 180.00.", field=field)
    return amount.quantize(PENNY)


def _code(practice, value: str, system: str, field: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    code = get_code(practice=practice, system=system, code=value)
    if code is None:
        raise ProductError(
            f"{value} is not a {label} this practice has: type part of the code or its description "
            "and choose one from the list (import your code list under Settings › Coding).",
            field=field,
        )
    return code.code


def _clean(practice, data: dict, instance: Product | None = None) -> dict:
    out = {f: data[f] if f in data else (getattr(instance, f) if instance else None) for f in FIELDS}
    if out["product_type"] not in ProductType.values:
        raise ProductError("Choose the type: Appointment or Procedure.", field="product_type", code="required")
    out["name"] = (out["name"] or "").strip()
    if not out["name"]:
        raise ProductError("Enter the product's name, such as Initial consultation.", field="name", code="required")
    out["procedure_type"] = (out["procedure_type"] or "").strip()[:100]
    duration = out["duration_minutes"]
    if out["product_type"] == ProductType.APPOINTMENT:
        if duration in (None, ""):
            raise ProductError(
                "Enter how long the appointment lasts, in minutes (such as 30).",
                field="duration_minutes",
                code="required",
            )
        if not isinstance(duration, int) or not 5 <= duration <= 600:
            raise ProductError("Enter the duration as whole minutes from 5 to 600.", field="duration_minutes")
    elif duration not in (None, "") and (not isinstance(duration, int) or not 5 <= duration <= 1440):
        raise ProductError(
            "Enter the duration as whole minutes from 5 to 1440, or leave it blank.", field="duration_minutes"
        )
    else:
        out["duration_minutes"] = duration or None
    out["list_price"] = money(out["list_price"], field="list_price", label="list price")
    out["vat_treatment"] = out["vat_treatment"] or VatTreatment.EXEMPT
    if out["vat_treatment"] not in VatTreatment.values:
        raise ProductError(f"Choose the VAT treatment: {', '.join(VatTreatment.labels)}.", field="vat_treatment")
    out["industry_standard_code"] = _code(
        practice, out["industry_standard_code"], CodeSystem.ISC, "industry_standard_code", "Industry standard code"
    )
    out["procedure_code"] = _code(
        practice, out["procedure_code"], CodeSystem.CCSD, "procedure_code", "Procedure code (CCSD)"
    )
    key = name_key(out["name"])
    clash = Product.objects.for_practice(practice).filter(name_key=key)
    if instance is not None:
        clash = clash.exclude(pk=instance.pk)
    if clash.exists():
        raise ProductError(f"A product called “{out['name']}” already exists.", field="name", code="duplicate")
    return out


@transaction.atomic
def create_product(*, practice, data: dict) -> Product:
    product = Product(practice=practice, **_clean(practice, data))
    product.name_key = name_key(product.name)
    product.save()
    return product


@transaction.atomic
def update_product(*, product: Product, data: dict) -> Product:
    product = Product.objects.select_for_update().get(pk=product.pk)
    for field, value in _clean(product.practice, data, instance=product).items():
        setattr(product, field, value)
    product.name_key = name_key(product.name)
    product.save()
    return product


@transaction.atomic
def set_archived(*, product: Product, archived: bool) -> Product:
    product = Product.objects.select_for_update().get(pk=product.pk)
    product.is_archived = archived
    product.save(update_fields=["is_archived", "updated_at"])
    return product


def _overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (b_to is None or a_from <= b_to) and (a_to is None or b_from <= a_to)


@transaction.atomic
def set_contract_price(
    *,
    product: Product,
    insurer_contact: Contact,
    price,
    valid_from: date,
    valid_to: date | None = None,
    contract: ContractPrice | None = None,
) -> ContractPrice:
    """Add (or change) the price agreed with an insurer for a period. Periods for one insurer and
    product must not overlap; the product row is locked so two saves cannot both pass the check."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    if insurer_contact.practice_id != product.practice_id or insurer_contact.contact_type != ContactType.INSURER:
        raise ProductError("Choose one of this practice's insurer contacts.", field="insurer_contact")
    amount = money(price, field="price", label="contract price")
    if not isinstance(valid_from, date):
        raise ProductError("Enter the date the price starts, such as 01/01/2026.", field="valid_from", code="required")
    if valid_to is not None and valid_to < valid_from:
        raise ProductError("“Valid to” must be on or after “valid from”.", field="valid_to")
    others = ContractPrice.objects.filter(product=product, insurer_contact=insurer_contact)
    if contract is not None:
        others = others.exclude(pk=contract.pk)
    for other in others:
        if _overlaps(valid_from, valid_to, other.valid_from, other.valid_to):
            until = f"{other.valid_to:%d/%m/%Y}" if other.valid_to else "open-ended"
            raise ProductError(
                f"{insurer_contact.name} already has a price for this product from {other.valid_from:%d/%m/%Y} to "
                f"{until}. End that period first, or start this one after it.",
                field="valid_from",
                code="overlap",
            )
    row = contract or ContractPrice(practice_id=product.practice_id, product=product)
    row.insurer_contact, row.price, row.valid_from, row.valid_to = insurer_contact, amount, valid_from, valid_to
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise ProductError(
            "That period overlaps another price for this insurer.", field="valid_from", code="overlap"
        ) from None
    return row


@transaction.atomic
def remove_contract_price(*, contract: ContractPrice) -> None:
    contract.delete()
