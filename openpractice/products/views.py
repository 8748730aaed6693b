"""Products pages: list with search and filters, add/edit, the product page with contracts. Thin."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from openpractice.coding.models import CodeSystem
from openpractice.contacts.selectors import insurer_contacts
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.products import selectors, services
from openpractice.products.errors import ProductError
from openpractice.products.forms import ContractPriceForm, ProductForm
from openpractice.products.models import ContractPrice, Product, ProductType


def _form_error(form, exc) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@require_capability(Capability.VIEW_RECORDS)
def product_list(request):
    query = request.GET.get("q", "")[:100]
    product_type = request.GET.get("type", "")
    product_type = product_type if product_type in ProductType.values else ""
    procedure_type = request.GET.get("procedure_type", "")[:100]
    insurer = request.GET.get("insurer", "")
    insurer_id = int(insurer) if insurer.isdigit() else None
    products = selectors.search_products(
        practice=request.practice,
        query=query,
        product_type=product_type,
        procedure_type=procedure_type,
        has_contract_with=insurer_id,
        include_archived=request.GET.get("archived") == "1",
    )
    page = Paginator(products, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "products/list.html",
        {
            "page": page,
            "query": query,
            "product_type": product_type,
            "procedure_type": procedure_type,
            "insurer_id": insurer_id,
            "types": ProductType.choices,
            "procedure_types": selectors.procedure_types_in_use(practice=request.practice),
            "insurers": insurer_contacts(practice=request.practice),
            "filtered": bool(query or product_type or procedure_type or insurer_id),
        },
    )


def _detail_context(request, product, contract_form=None):
    practice = request.practice
    return {
        "product": product,
        "contracts": selectors.contracts_of(product=product),
        "contract_form": contract_form or ContractPriceForm(insurers=insurer_contacts(practice=practice)),
        "code_warnings": selectors.code_warnings(product=product),
        "isc_description": selectors.code_description(
            practice=practice, system=CodeSystem.ISC, code=product.industry_standard_code
        ),
        "ccsd_description": selectors.code_description(
            practice=practice, system=CodeSystem.CCSD, code=product.procedure_code
        ),
    }


@require_capability(Capability.VIEW_RECORDS)
def product_detail(request, product_id: int):
    product = get_for_practice_or_404(Product, request.practice, pk=product_id)
    return render(request, "products/detail.html", _detail_context(request, product))


@require_capability(Capability.EDIT_RECORDS)
def product_edit(request, product_id: int | None = None):
    product = get_for_practice_or_404(Product, request.practice, pk=product_id) if product_id else None
    initial = {f: getattr(product, f) for f in services.FIELDS} if product else {}
    form = ProductForm(request.POST or None, initial=initial, practice=request.practice)
    if request.method == "POST" and form.is_valid():
        try:
            if product is None:
                product = services.create_product(practice=request.practice, data=form.cleaned_data)
                messages.success(request, f"Product “{product.name}” added. Add the prices agreed with insurers below.")
            else:
                product = services.update_product(product=product, data=form.cleaned_data)
                messages.success(request, f"Product “{product.name}” saved.")
            return redirect("products:detail", product.id)
        except ProductError as exc:
            _form_error(form, exc)
    return render(request, "products/form.html", {"form": form, "product": product})


@require_POST
@require_capability(Capability.EDIT_RECORDS)
def contract_add(request, product_id: int):
    product = get_for_practice_or_404(Product, request.practice, pk=product_id)
    form = ContractPriceForm(request.POST, insurers=insurer_contacts(practice=request.practice))
    if form.is_valid():
        try:
            services.set_contract_price(product=product, **form.cleaned_data)
        except ProductError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Contract price with {form.cleaned_data['insurer_contact'].name} saved.")
            return redirect("products:detail", product.id)
    return render(request, "products/detail.html", _detail_context(request, product, form))


@require_http_methods(["GET", "POST"])
@require_capability(Capability.EDIT_RECORDS)
def contract_remove(request, product_id: int, contract_id: int):
    """GET asks, naming the price; the POST removes it."""
    product = get_for_practice_or_404(Product, request.practice, pk=product_id)
    contract = get_for_practice_or_404(
        ContractPrice.objects.filter(product=product).select_related("insurer_contact"),
        request.practice,
        pk=contract_id,
    )
    name = contract.name
    if request.method == "POST":
        services.remove_contract_price(contract=contract)
        messages.success(request, f"{name} removed from {product.name}.")
        return redirect("products:detail", product.id)
    return render(
        request,
        "confirm.html",
        {
            "title": f"Remove {name}?",
            "question": f"Remove the {name} from {product.name}?",
            "explanation": f"Bills for {product.name} to {contract.insurer_contact.name} then use the next "
            "contract price that applies, or the list price. Invoices already made keep their prices.",
            "confirm_label": f"Remove {name}",
            "cancel_url": reverse("products:detail", args=[product.id]),
            "cancel_label": "Keep it",
        },
    )


@require_POST
@require_capability(Capability.EDIT_RECORDS)
def product_archive(request, product_id: int):
    product = get_for_practice_or_404(Product, request.practice, pk=product_id)
    archived = request.POST.get("archived", "1") == "1"
    services.set_archived(product=product, archived=archived)
    messages.success(request, f"“{product.name}” {'archived' if archived else 'restored'}.")
    return redirect("products:detail", product.id)
