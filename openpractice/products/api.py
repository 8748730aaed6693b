"""/api/v1/products and their contract prices: the same rules and permissions as the pages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ninja import Router, Schema, Status
from pydantic import Field

from openpractice.contacts.models import Contact
from openpractice.pagination import limit_param, offset_param, page_of
from openpractice.practices.api_auth import auth_for
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.products import selectors, services
from openpractice.products.errors import ProductError
from openpractice.products.models import ContractPrice, Product, ProductType, VatTreatment

router = Router(tags=["products"])


class ContractOut(Schema):
    id: int
    insurer_contact_id: int
    insurer_name: str
    price: Decimal
    valid_from: date
    valid_to: date | None


class ProductOut(Schema):
    id: int
    product_type: ProductType
    name: str
    procedure_type: str
    duration_minutes: int | None
    list_price: Decimal
    vat_treatment: VatTreatment
    industry_standard_code: str
    procedure_code: str
    is_archived: bool
    contracts: list[ContractOut]
    code_warnings: list[str] = Field(description="Insurers whose accepted-codes list leaves out this product's codes")


class ProductIn(Schema):
    product_type: ProductType
    name: str = Field(..., min_length=1, max_length=200)
    procedure_type: str = Field("", max_length=100)
    duration_minutes: int | None = None
    list_price: Decimal = Field(..., ge=0, max_digits=10, decimal_places=2)
    vat_treatment: VatTreatment = VatTreatment.EXEMPT
    industry_standard_code: str = Field("", max_length=16, description="An Industry standard code (ISC)")
    procedure_code: str = Field("", max_length=16, description="A CCSD procedure code")


class ContractIn(Schema):
    insurer_contact_id: int
    price: Decimal = Field(..., ge=0, max_digits=10, decimal_places=2)
    valid_from: date
    valid_to: date | None = None


class ArchiveIn(Schema):
    archived: bool = True


def _contract_out(c: ContractPrice) -> dict:
    return {
        "id": c.id,
        "insurer_contact_id": c.insurer_contact_id,
        "insurer_name": c.insurer_contact.name,
        "price": c.price,
        "valid_from": c.valid_from,
        "valid_to": c.valid_to,
    }


def _out(p: Product, *, full: bool = True) -> dict:
    return {
        "id": p.id,
        "product_type": p.product_type,
        "name": p.name,
        "procedure_type": p.procedure_type,
        "duration_minutes": p.duration_minutes,
        "list_price": p.list_price,
        "vat_treatment": p.vat_treatment,
        "industry_standard_code": p.industry_standard_code,
        "procedure_code": p.procedure_code,
        "is_archived": p.is_archived,
        "contracts": [_contract_out(c) for c in selectors.contracts_of(product=p)] if full else [],
        "code_warnings": [w.message for w in selectors.code_warnings(product=p)] if full else [],
    }


@router.get("/products", response=list[ProductOut], auth=auth_for(Capability.VIEW_RECORDS))
def list_products(
    request,
    q: str = "",
    product_type: str = "",
    procedure_type: str = "",
    insurer_contact_id: int | None = None,
    include_archived: bool = False,
    limit: int = limit_param(50, 200),
    offset: int = offset_param(),
):
    qs = selectors.search_products(
        practice=request.practice,
        query=q[:100],
        product_type=product_type if product_type in ProductType.values else "",
        procedure_type=procedure_type,
        has_contract_with=insurer_contact_id,
        include_archived=include_archived,
    )
    return [_out(p, full=False) for p in page_of(qs, limit=limit, offset=offset, maximum=200)]


@router.get("/products/{product_id}", response=ProductOut, auth=auth_for(Capability.VIEW_RECORDS))
def get_product(request, product_id: int):
    return _out(get_for_practice_or_404(Product, request.practice, pk=product_id))


@router.post("/products", response={201: ProductOut}, auth=auth_for(Capability.EDIT_RECORDS))
def create_product(request, payload: ProductIn):
    return Status(201, _out(services.create_product(practice=request.practice, data=payload.dict())))


@router.put("/products/{product_id}", response=ProductOut, auth=auth_for(Capability.EDIT_RECORDS))
def update_product(request, product_id: int, payload: ProductIn):
    product = get_for_practice_or_404(Product, request.practice, pk=product_id)
    return _out(services.update_product(product=product, data=payload.dict()))


@router.post("/products/{product_id}/archive", response=ProductOut, auth=auth_for(Capability.EDIT_RECORDS))
def archive_product(request, product_id: int, payload: ArchiveIn):
    product = get_for_practice_or_404(Product, request.practice, pk=product_id)
    return _out(services.set_archived(product=product, archived=payload.archived))


@router.post("/products/{product_id}/contracts", response={201: ContractOut}, auth=auth_for(Capability.EDIT_RECORDS))
def add_contract(request, product_id: int, payload: ContractIn):
    product = get_for_practice_or_404(Product, request.practice, pk=product_id)
    contact = Contact.objects.for_practice(request.practice).filter(pk=payload.insurer_contact_id).first()
    if contact is None:
        raise ProductError("No insurer contact with that id in this practice.", field="insurer_contact_id")
    contract = services.set_contract_price(
        product=product,
        insurer_contact=contact,
        price=payload.price,
        valid_from=payload.valid_from,
        valid_to=payload.valid_to,
    )
    return Status(201, _contract_out(contract))


@router.delete(
    "/products/{product_id}/contracts/{contract_id}", response={204: None}, auth=auth_for(Capability.EDIT_RECORDS)
)
def remove_contract(request, product_id: int, contract_id: int):
    product = get_for_practice_or_404(Product, request.practice, pk=product_id)
    services.remove_contract_price(
        contract=get_for_practice_or_404(
            ContractPrice.objects.filter(product=product), request.practice, pk=contract_id
        )
    )
    return Status(204, None)
