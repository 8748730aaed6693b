"""Products: type, duration, Decimal prices, VAT, codes by type-ahead, contract prices without
overlaps, accepted-code warnings; pages and API; tenancy."""

import datetime as dt
from decimal import Decimal

import pytest

from openpractice.coding.importing import CsvCodeSource
from openpractice.coding.services import import_code_set
from openpractice.products import selectors, services
from openpractice.products.errors import ProductError
from openpractice.products.models import ContractPrice, Product

D = dt.date


@pytest.fixture
def isc(practice):
    import_code_set(
        practice=practice,
        kind="codes",
        system="isc",
        source=CsvCodeSource(b"code,description\nSCON1,Initial outpatient consultation\n"),
    )


def _product(practice, **extra):
    data = {
        "product_type": "procedure",
        "name": "Knee arthroscopy",
        "procedure_type": "Day case surgery",
        "duration_minutes": None,
        "list_price": Decimal("1100.00"),
        "vat_treatment": "exempt",
        "industry_standard_code": "",
        "procedure_code": "W8520",
        **extra,
    }
    return services.create_product(practice=practice, data=data)


def test_create_with_codes_and_decimal_price(practice, isc):
    p = _product(practice, industry_standard_code="scon1", list_price="1,100.5")
    assert p.list_price == Decimal("1100.50") and p.industry_standard_code == "SCON1" and p.procedure_code == "W8520"
    assert p.vat_treatment == "exempt" and p.vat_rate == Decimal("0")


@pytest.mark.parametrize(
    "extra,field,message",
    [
        ({"procedure_code": "Z9999"}, "procedure_code", "not a Procedure code"),
        ({"industry_standard_code": "NOPE1"}, "industry_standard_code", "not a Industry standard code"),
        ({"list_price": "-1"}, "list_price", "0 or more"),
        ({"list_price": "12.345"}, "list_price", "pounds and pence"),
        ({"product_type": "appointment", "duration_minutes": None}, "duration_minutes", "how long"),
        ({"name": " "}, "name", "Enter the product's name"),
        ({"vat_treatment": "reduced"}, "vat_treatment", "Choose the VAT treatment"),
    ],
)
def test_bad_input_names_the_field(practice, extra, field, message):
    with pytest.raises(ProductError, match=message) as exc:
        _product(practice, **extra)
    assert exc.value.field == field
    assert not Product.objects.exists()


def test_contract_periods_cannot_overlap(practice, insurer_contact):
    product = _product(practice)
    bupa, axa = insurer_contact(practice, "bup"), insurer_contact(practice, "ppp")
    services.set_contract_price(
        product=product, insurer_contact=bupa, price="950", valid_from=D(2026, 1, 1), valid_to=D(2026, 12, 31)
    )
    with pytest.raises(ProductError, match="already has a price") as exc:
        services.set_contract_price(product=product, insurer_contact=bupa, price="900", valid_from=D(2026, 6, 1))
    assert exc.value.field == "valid_from"
    services.set_contract_price(product=product, insurer_contact=bupa, price="990", valid_from=D(2027, 1, 1))
    services.set_contract_price(product=product, insurer_contact=axa, price="900", valid_from=D(2026, 6, 1))
    with pytest.raises(ProductError, match="Valid to"):
        services.set_contract_price(
            product=product, insurer_contact=axa, price="1", valid_from=D(2030, 2, 1), valid_to=D(2030, 1, 1)
        )
    assert selectors.price_for(product=product, insurer_contact=bupa, on_date=D(2026, 3, 1)) == Decimal("950.00")
    assert selectors.price_for(product=product, insurer_contact=bupa, on_date=D(2027, 3, 1)) == Decimal("990.00")
    assert ContractPrice.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_database_refuses_overlap_on_postgresql(practice, insurer_contact):
    from django.db import IntegrityError, connection

    if connection.vendor != "postgresql":
        pytest.skip("the exclusion constraint is PostgreSQL's; SQLite relies on the service")
    from openpractice.coding.models import Insurer
    from openpractice.coding.reference import load_insurers

    load_insurers(Insurer)
    product = _product(practice)
    bupa = insurer_contact(practice, "bup")
    ContractPrice.objects.create(
        practice=practice, product=product, insurer_contact=bupa, price=1, valid_from=D(2026, 1, 1)
    )
    with pytest.raises(IntegrityError):
        ContractPrice.objects.create(
            practice=practice,
            product=product,
            insurer_contact=bupa,
            price=2,
            valid_from=D(2026, 5, 1),
            valid_to=D(2026, 6, 1),
        )


def test_accepted_codes_warning(practice, insurer_contact):
    from openpractice.coding.selectors import find_insurer

    product = _product(practice, procedure_code="E2880", name="Epley manoeuvre")
    insurer_contact(practice, "bup")
    insurer_contact(practice, "nuh")
    import_code_set(
        practice=practice,
        kind="accepted",
        system="ccsd",
        insurer=find_insurer(practice=practice, healthcode_identifier="bup"),
        source=CsvCodeSource(b"code\nW8520\n20300\n"),
    )
    warnings = selectors.code_warnings(product=product)
    assert [w.insurer for w in warnings] == ["Bupa"]  # Aviva has no list: it accepts any code
    assert "Bupa does not list Procedure code E2880" in warnings[0].message


def test_pages(owner_client, practice, insurer_contact, isc):
    bupa = insurer_contact(practice, "bup")
    form = owner_client.get("/products/new/").content.decode()
    for label in ("Industry standard code", "Procedure code", "Procedure type", "VAT treatment"):
        assert label in form
    assert 'list="procedure-types"' in form
    response = owner_client.post(
        "/products/new/",
        {
            "product_type": "appointment",
            "name": "Initial consultation",
            "procedure_type": "My own type",
            "duration_minutes": "30",
            "list_price": "220.00",
            "vat_treatment": "exempt",
            "industry_standard_code": "SCON1",
            "procedure_code": "20300",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "SCON1" in html and "20300" in html and "£220.00" in html and "My own type" in html
    product = Product.objects.get()
    bad = owner_client.post(
        f"/products/{product.id}/contracts/", {"insurer_contact": bupa.id, "price": "abc", "valid_from": "2026-01-01"}
    )
    assert bad.status_code == 200 and 'id="id_price_error"' in bad.content.decode()
    owner_client.post(
        f"/products/{product.id}/contracts/",
        {"insurer_contact": bupa.id, "price": "180.00", "valid_from": "2026-01-01"},
    )
    html = owner_client.get(f"/products/{product.id}/").content.decode()
    assert "£180.00" in html and "Bupa" in html
    overlap = owner_client.post(
        f"/products/{product.id}/contracts/",
        {"insurer_contact": bupa.id, "price": "170.00", "valid_from": "2026-03-01"},
    )
    assert "already has a price" in overlap.content.decode() and 'value="170.00"' in overlap.content.decode()
    listing = owner_client.get("/products/?type=appointment&q=initial").content.decode()
    assert "Initial consultation" in listing
    assert "Initial consultation" not in owner_client.get("/products/?type=procedure").content.decode()


def test_bad_code_in_page_keeps_everything(owner_client, practice):
    response = owner_client.post(
        "/products/new/",
        {
            "product_type": "procedure",
            "name": "Mystery",
            "procedure_type": "Minor procedure",
            "list_price": "99.99",
            "vat_treatment": "standard",
            "procedure_code_search": "Z9999",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'id="id_procedure_code_error"' in html
    assert 'value="Mystery"' in html and 'value="99.99"' in html and 'value="Minor procedure"' in html


def test_tenancy(owner_client, other_practice, client, owner, practice, api_token_for):
    theirs = _product(other_practice)
    for url in (f"/products/{theirs.id}/", f"/products/{theirs.id}/edit/"):
        assert owner_client.get(url).status_code == 404
    assert client.get(f"/api/v1/products/{theirs.id}", **api_token_for(owner, practice)).status_code == 404


def test_api(client, owner, receptionist, practice, insurer_contact, api_token_for):
    headers = api_token_for(owner, practice)
    body = {"product_type": "procedure", "name": "ECG", "list_price": "75.00", "procedure_code": "20110"}
    made = client.post("/api/v1/products", body, content_type="application/json", **headers)
    assert made.status_code == 201 and made.json()["list_price"] == "75.00"
    bad = client.post(
        "/api/v1/products", {**body, "name": "X", "procedure_code": "Z9999"}, content_type="application/json", **headers
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "procedure_code"]
    bupa = insurer_contact(practice, "bup")
    pid = made.json()["id"]
    ok = client.post(
        f"/api/v1/products/{pid}/contracts",
        {"insurer_contact_id": bupa.id, "price": "60.00", "valid_from": "2026-01-01"},
        content_type="application/json",
        **headers,
    )
    assert ok.status_code == 201
    clash = client.post(
        f"/api/v1/products/{pid}/contracts",
        {"insurer_contact_id": bupa.id, "price": "61.00", "valid_from": "2026-02-01"},
        content_type="application/json",
        **headers,
    )
    assert clash.status_code == 422 and "already has a price" in clash.json()["detail"][0]["msg"]
    assert client.get(f"/api/v1/products/{pid}", **headers).json()["contracts"][0]["price"] == "60.00"
    assert client.get("/api/v1/products?q=ecg", **headers).json()[0]["name"] == "ECG"
    assert (
        client.post(
            "/api/v1/products",
            {**body, "name": "Y"},
            content_type="application/json",
            **api_token_for(receptionist, practice),
        ).status_code
        == 201
    )
