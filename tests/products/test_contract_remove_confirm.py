"""A product's contract price: Remove confirms first, naming the insurer, price and date."""

import datetime as dt
from decimal import Decimal

from openpractice.products import services
from openpractice.products.models import ContractPrice


def test_contract_remove_asks_first_naming_the_price(owner_client, practice, insurer_contact):
    product = services.create_product(
        practice=practice, data={"name": "Knee arthroscopy", "product_type": "procedure", "list_price": Decimal("1100")}
    )
    bupa = insurer_contact(practice, "bup")
    services.set_contract_price(
        product=product, insurer_contact=bupa, price=Decimal("950.00"), valid_from=dt.date(2026, 1, 1), valid_to=None
    )
    contract = ContractPrice.objects.get()
    detail = owner_client.get(f"/products/{product.id}/").content.decode()
    assert "Remove Bupa contract price £950.00 from 1 Jan 2026" in detail
    assert 'data-unsaved="Add contract price"' in detail
    url = f"/products/{product.id}/contracts/{contract.id}/remove/"
    page = owner_client.get(url).content.decode()
    assert "Remove the Bupa contract price £950.00 from 1 Jan 2026 from Knee arthroscopy?" in page
    assert ContractPrice.objects.exists()
    done = owner_client.post(url, follow=True).content.decode()
    assert "Bupa contract price £950.00 from 1 Jan 2026 removed from Knee arthroscopy." in done
    assert not ContractPrice.objects.exists()
