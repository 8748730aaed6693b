"""Taking a consultant on from a template practice: one step copies the template's insurer contacts,
products with contract prices, its own insurer directory entries with the codes each accepts, and
the chase schedule, as new rows of the new practice that share nothing with the template; the
consultant is invited and gets their practitioner details when they accept; Healthcode credentials
and the bureau's fee are set; a refusal anywhere leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client

from openpractice.accounts.models import PractitionerProfile
from openpractice.coding.models import AcceptedCode, Insurer
from openpractice.contacts.models import Contact
from openpractice.healthcode.models import HealthcodeIntegration
from openpractice.onboarding import services
from openpractice.onboarding.models import Onboarding
from openpractice.practices import services as practices
from openpractice.practices.models import Membership, Practice
from openpractice.products.models import ContractPrice, Product
from openpractice.receivables.models import ChaseStage
from openpractice.reports.consultant_models import FeeAgreement, ReportRecipients

pytestmark = pytest.mark.django_db
LINK = re.compile(r"(/invitations/([^/\s]+)/)")


@pytest.fixture
def template(practice, owner):
    own = Insurer.objects.create(practice=practice, name="Local Health Trust Scheme")
    published = Insurer.objects.filter(practice__isnull=True).exclude(healthcode_identifier="").first()
    bupa = Contact.objects.create(
        practice=practice, contact_type="insurer", name="Bupa", name_key="bupa", insurer=published
    )
    local = Contact.objects.create(
        practice=practice, contact_type="insurer", name="Local", name_key="local", insurer=own
    )
    Contact.objects.create(practice=practice, contact_type="gp", name="Dr Referrer", name_key="drreferrer")
    Contact.objects.create(practice=practice, contact_type="insurer", name="Old", name_key="old", is_archived=True)
    consult = Product.objects.create(
        practice=practice, product_type="appointment", name="Consultation", name_key="consultation", list_price="200.00"
    )
    ContractPrice.objects.create(
        practice=practice, product=consult, insurer_contact=bupa, price="180.00", valid_from=dt.date(2026, 1, 1)
    )
    ContractPrice.objects.create(
        practice=practice, product=consult, insurer_contact=local, price="150.00", valid_from=dt.date(2026, 1, 1)
    )
    for insurer, code in ((published, "A1234"), (own, "B5678")):
        AcceptedCode.objects.create(
            practice=practice, insurer=insurer, system="ccsd", code=code, code_key=code, max_fee="300.00"
        )
    ChaseStage.objects.create(
        practice=practice,
        key="statement",
        days_overdue=0,
        email_subject="Your statement",
        email_body="Hello",
        letter_body="Dear",
    )
    return practice


def _onboard(template, owner, **changes):
    arguments = dict(
        template=template,
        name="Mr Sam Surgeon",
        details={"city": "London", "postcode": "W1G 9PF"},
        consultant=services.Consultant(
            full_name="Sam Surgeon",
            email="Sam.Surgeon@Example.com",
            healthcode_identifier="1234567",
            gmc_number="7654321",
        ),
        credentials=services.Credentials(
            environment="sandbox", site_id="SITE42", api_key_id="key-id", api_key="secret-key"
        ),
        fee=services.Fee(kind="percentage", percentage="7.5"),
        user=owner,
    )
    arguments.update(changes)
    return services.onboard_consultant(**arguments)


def _ids(model, practice) -> set[int]:
    return set(model.objects.filter(practice=practice).values_list("pk", flat=True))


def test_the_new_practice_has_copies_that_share_nothing_with_the_template(
    template, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        done = _onboard(template, owner)
    new = done.practice
    assert done.copied == {
        "insurer directory entries": 1,
        "insurer contacts": 2,
        "products": 1,
        "contract prices": 2,
        "accepted codes": 2,
        "chase stages": 1,
    }
    for model in (Insurer, Contact, Product, ContractPrice, AcceptedCode, ChaseStage):
        assert _ids(model, new) and not _ids(model, new) & _ids(model, template), model.__name__
    assert {c.name for c in Contact.objects.filter(practice=new)} == {"Bupa", "Local"}  # insurers only, not archived
    own = Insurer.objects.get(practice=new)
    assert Contact.objects.get(practice=new, name="Local").insurer == own  # the copy, not the template's entry
    assert Contact.objects.get(practice=new, name="Bupa").insurer.practice_id is None  # published: shared by all
    for price in ContractPrice.objects.filter(practice=new):
        assert price.product.practice == new and price.insurer_contact.practice == new
    assert {a.insurer.practice_id for a in AcceptedCode.objects.filter(practice=new)} == {None, new.pk}
    # changing the template afterwards leaves the new practice as it was
    Product.objects.filter(practice=template).update(list_price="999.00")
    ContractPrice.objects.filter(practice=template).update(price="1.00")
    ChaseStage.objects.filter(practice=template).update(email_subject="Changed")
    assert Product.objects.get(practice=new).list_price == Decimal("200.00")
    assert sorted(ContractPrice.objects.filter(practice=new).values_list("price", flat=True)) == [
        Decimal("150.00"),
        Decimal("180.00"),
    ]
    assert ChaseStage.objects.get(practice=new).email_subject == "Your statement"
    # the bureau's user owns it; the consultant is invited, not added
    assert Membership.objects.get(practice=new).user == owner
    integration = HealthcodeIntegration.objects.get(practice=new)
    assert integration.site_id == "SITE42" and integration.api_key_is_set
    assert FeeAgreement.objects.get(practice=new).percentage == Decimal("7.50")
    assert ReportRecipients.objects.get(practice=new).addresses == ["sam.surgeon@example.com"]
    [invitation] = [m for m in mail.outbox if m.to == ["sam.surgeon@example.com"]]
    token = LINK.search(invitation.body).group(2)
    membership = practices.accept_invitation_with_new_account(
        token=token, full_name="Sam Surgeon", password="a-long-passphrase-42"
    )
    assert membership.role == "practitioner" and membership.practice == new
    profile = PractitionerProfile.objects.get(membership=membership)
    assert (profile.healthcode_identifier, profile.gmc_number) == ("1234567", "7654321")
    assert Onboarding.objects.get().profile_applied_at is not None


@pytest.mark.parametrize(
    "change, field",
    [
        ({"name": " "}, "name"),
        ({"consultant": services.Consultant(full_name="Sam", email="nope")}, "consultant_email"),
        ({"consultant": services.Consultant(full_name="Sam", email="s@example.com", gmc_number="12")}, "gmc_number"),
        ({"fee": services.Fee(kind="percentage", percentage="200")}, "percentage"),
        (
            {
                "credentials": services.Credentials(
                    environment="sandbox",
                    site_id="S1",
                    api_key_id="k",
                    api_key="x",
                    discovery_url="http://evil.example/",
                )
            },
            "discovery_url",
        ),
    ],
)
def test_a_refusal_names_its_field_and_leaves_nothing(template, owner, change, field):
    before = Practice.objects.count()
    with pytest.raises(Exception) as refused:
        _onboard(template, owner, **change)
    assert getattr(refused.value, "field", None) == field
    assert Practice.objects.count() == before and not Onboarding.objects.exists()


def test_the_page_takes_a_consultant_on_and_needs_manage_settings(template, owner, biller):
    client = Client()
    client.force_login(biller)
    assert client.get("/onboarding/new/").status_code == 403
    client.force_login(owner)
    assert client.get("/onboarding/new/").status_code == 200
    form = {
        "practice-name": "Mr Sam Surgeon",
        "consultant-full_name": "Sam Surgeon",
        "consultant-email": "sam@example.com",
        "consultant-gmc_number": "12",
        "healthcode-environment": "sandbox",
        "fee-kind": "fixed",
        "fee-monthly_fee": "450",
    }
    bad = client.post("/onboarding/new/", form)
    assert bad.status_code == 400 and "GMC" in bad.content.decode() and not Onboarding.objects.exists()
    form["consultant-gmc_number"] = "7654321"
    done = client.post("/onboarding/new/", form, follow=True)
    assert "Mr Sam Surgeon is ready" in done.content.decode() and "2 insurer contacts" in done.content.decode()
    new = Onboarding.objects.get().practice
    assert FeeAgreement.objects.get(practice=new).monthly_fee == Decimal("450.00")
    assert not HealthcodeIntegration.objects.filter(practice=new).exists()  # left blank: set up later


def test_another_practice_cannot_use_this_template(template, other_owner):
    client = Client()
    client.force_login(other_owner)
    client.post(
        "/onboarding/new/",
        {
            "practice-name": "X",
            "consultant-full_name": "Y",
            "consultant-email": "y@example.com",
            "healthcode-environment": "sandbox",
        },
    )
    assert Onboarding.objects.get().template != template  # their own practice is the template
    assert not _ids(Product, Onboarding.objects.get().practice)
