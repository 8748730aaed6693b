"""Take a consultant on in one step: a new practice copied from a template practice (its insurer
contacts, products with their contract prices, the practice's own insurer directory entries and the
codes each insurer accepts, the chase schedule), the consultant invited with their practitioner
details, the practice's Healthcode credentials and the bureau's fee. One transaction: all of it, or
nothing. Every row is a copy in the new practice; nothing refers back to the template."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from openpractice.accounts.validators import normalise_digits, validate_gmc_number, validate_healthcode_identifier
from openpractice.coding.models import AcceptedCode, Insurer
from openpractice.contacts.models import Contact, ContactType
from openpractice.healthcode.credentials import save_healthcode_credentials
from openpractice.onboarding.errors import Code, OnboardingError
from openpractice.onboarding.models import Onboarding
from openpractice.practices.models import Practice
from openpractice.practices.roles import Role
from openpractice.practices.services import create_practice, invite_member
from openpractice.products.models import ContractPrice, Product
from openpractice.receivables.models import ChaseStage
from openpractice.reports.consultant_services import set_fee_agreement, set_recipients


@dataclasses.dataclass
class Consultant:
    full_name: str
    email: str
    healthcode_identifier: str = ""
    gmc_number: str = ""
    specialty: str = ""
    professional_title: str = ""


@dataclasses.dataclass
class Credentials:
    environment: str
    site_id: str
    api_key_id: str
    api_key: str
    discovery_url: str = ""


@dataclasses.dataclass
class Fee:
    kind: str
    percentage: object = None
    monthly_fee: object = None
    effective_from: dt.date | None = None


def _copy(rows, **changes) -> dict[int, object]:
    """Each row saved again as a new row with `changes` (the new practice, the mapped keys): old id -> new row."""
    made = {}
    for row in rows:
        old = row.pk
        row.pk = row.id = None
        row._state.adding = True
        for field, value in changes.items():
            setattr(row, field, value(row) if callable(value) else value)
        row.save()
        made[old] = row
    return made


def _check_consultant(consultant: Consultant) -> Consultant:
    if not consultant.full_name.strip():
        raise OnboardingError("Enter the consultant's full name.", field="consultant_name", code=Code.REQUIRED)
    try:
        validate_email(consultant.email.strip())
    except ValidationError:
        raise OnboardingError(
            "Enter the consultant's email address, such as sam.surgeon@example.com.", field="consultant_email"
        ) from None
    identifier, gmc = normalise_digits(consultant.healthcode_identifier), normalise_digits(consultant.gmc_number)
    for value, check, field in (
        (identifier, validate_healthcode_identifier, "healthcode_identifier"),
        (gmc, validate_gmc_number, "gmc_number"),
    ):
        try:
            check(value)
        except ValidationError as exc:
            raise OnboardingError(exc.messages[0], field=field) from None
    return dataclasses.replace(
        consultant, email=consultant.email.strip().lower(), healthcode_identifier=identifier, gmc_number=gmc
    )


@transaction.atomic
def onboard_consultant(
    *,
    template: Practice,
    name: str,
    details: dict,
    consultant: Consultant,
    credentials: Credentials | None,
    fee: Fee | None,
    user,
    base_url: str = "http://127.0.0.1:8000",
) -> Onboarding:
    """A new practice from `template`, with `user` (the bureau's) as its owner and the consultant
    invited as its practitioner. Raises the lower apps' domain errors (naming their field) as they are."""
    if not (name or "").strip():
        raise OnboardingError(
            "Enter the new practice's name, such as Mr Sam Surgeon.", field="name", code=Code.REQUIRED
        )
    consultant = _check_consultant(consultant)
    practice = create_practice(name=name.strip(), owner=user, **details)
    copied: dict[str, int] = {}
    insurers = _copy(Insurer.objects.filter(practice=template).order_by("pk"), practice=practice)
    copied["insurer directory entries"] = len(insurers)

    def insurer_of(row):  # a published entry is shared by every practice; the template's own is copied
        return insurers[row.insurer_id] if row.insurer_id in insurers else row.insurer

    contacts = _copy(
        Contact.objects.filter(practice=template, contact_type=ContactType.INSURER, is_archived=False).order_by("pk"),
        practice=practice,
        insurer=insurer_of,
    )
    copied["insurer contacts"] = len(contacts)
    products = _copy(Product.objects.filter(practice=template, is_archived=False).order_by("pk"), practice=practice)
    copied["products"] = len(products)
    prices = _copy(
        ContractPrice.objects.filter(
            practice=template, product_id__in=list(products), insurer_contact_id__in=list(contacts)
        ).order_by("pk"),
        practice=practice,
        product=lambda row: products[row.product_id],
        insurer_contact=lambda row: contacts[row.insurer_contact_id],
    )
    copied["contract prices"] = len(prices)
    accepted = list(AcceptedCode.objects.filter(practice=template).order_by("pk"))
    for row in accepted:
        row.pk, row.practice = None, practice
        row.insurer = insurer_of(row)
    AcceptedCode.objects.bulk_create(accepted, batch_size=1000)  # a contracts list can be thousands of codes
    copied["accepted codes"] = len(accepted)
    copied["chase stages"] = len(_copy(ChaseStage.objects.filter(practice=template).order_by("pk"), practice=practice))
    if credentials and credentials.site_id.strip():
        save_healthcode_credentials(
            practice=practice,
            environment=credentials.environment,
            discovery_url=credentials.discovery_url,
            site_id=credentials.site_id.strip(),
            api_key_id=credentials.api_key_id.strip(),
            api_key=credentials.api_key or None,
        )
    if fee and fee.kind:
        set_fee_agreement(
            practice=practice,
            kind=fee.kind,
            percentage=fee.percentage,
            monthly_fee=fee.monthly_fee,
            effective_from=fee.effective_from or dt.date.today().replace(day=1),
            user=user,
        )
    set_recipients(practice=practice, emails=consultant.email, send_monthly=True)
    invite_member(
        practice=practice,
        email=consultant.email,
        role=Role.PRACTITIONER,
        invited_by=user,
        full_name=consultant.full_name.strip(),
        base_url=base_url,
    )
    return Onboarding.objects.create(
        template=template,
        practice=practice,
        consultant_email=consultant.email,
        consultant_name=consultant.full_name.strip(),
        healthcode_identifier=consultant.healthcode_identifier,
        gmc_number=consultant.gmc_number,
        specialty=consultant.specialty.strip(),
        professional_title=consultant.professional_title.strip(),
        copied=copied,
        created_by=user,
    )
