"""Everything that writes contacts: keyword arguments, one transaction, ContactError naming the field."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from openpractice.coding.selectors import get_insurer
from openpractice.contacts.errors import ContactError
from openpractice.contacts.models import Contact, ContactType
from openpractice.patients.keys import name_key
from openpractice.practices.validators import normalise_postcode, validate_uk_postcode

FIELDS = (
    "contact_type",
    "name",
    "insurer",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "postcode",
    "notes",
    "usual_days_to_pay",
)
DEFAULT_USUAL_DAYS = 30


def _clean(practice, data: dict, instance: Contact | None = None) -> dict:
    out = {f: data[f] if f in data else (getattr(instance, f) if instance else None) for f in FIELDS}
    out["usual_days_to_pay"] = _usual_days(out["usual_days_to_pay"])
    for field in FIELDS:
        if field == "usual_days_to_pay":
            continue
        if field != "insurer" and isinstance(out[field], str):
            out[field] = out[field].strip()
        elif field != "insurer" and out[field] is None:
            out[field] = ""
    if out["contact_type"] not in ContactType.values:
        raise ContactError(f"Choose the type: {', '.join(ContactType.labels)}.", field="contact_type", code="required")
    if not out["name"]:
        raise ContactError("Enter the contact's name.", field="name", code="required")
    insurer = out["insurer"]
    if out["contact_type"] == ContactType.INSURER:
        if insurer is None:
            raise ContactError(
                "Choose the Healthcode identifier (Insurance) from the insurer directory: type the "
                "insurer's name or identifier, such as Bupa or bup.",
                field="insurer",
                code="required",
            )
        # Only an entry this practice can see in the directory.
        if get_insurer(practice=practice, insurer_id=insurer.pk) is None:
            raise ContactError("Choose an insurer from this practice's directory.", field="insurer")
    else:
        out["insurer"] = None
    if out["email"]:
        try:
            validate_email(out["email"])
        except ValidationError:
            raise ContactError("Enter a valid email address, such as claims@insurer.co.uk.", field="email") from None
        out["email"] = out["email"].lower()
    if out["postcode"]:
        try:
            validate_uk_postcode(out["postcode"])
        except ValidationError as exc:
            raise ContactError(exc.messages[0], field="postcode") from None
        out["postcode"] = normalise_postcode(out["postcode"])
    return out


def _usual_days(value) -> int:
    """An insurer's usual days to pay: a whole number of days up to a year (blank: 30)."""
    if value is None or value == "":
        return DEFAULT_USUAL_DAYS
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = -1
    if not 0 <= days <= 365:
        raise ContactError("Usual days to pay: a whole number of days from 0 to 365.", field="usual_days_to_pay")
    return days


@transaction.atomic
def create_contact(*, practice, data: dict) -> Contact:
    contact = Contact(practice=practice, **_clean(practice, data))
    contact.name_key = name_key(contact.name)
    contact.save()
    return contact


@transaction.atomic
def update_contact(*, contact: Contact, data: dict) -> Contact:
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    values = _clean(contact.practice, data, instance=contact)
    if (
        contact.contact_type == ContactType.INSURER
        and values["contact_type"] != ContactType.INSURER
        and contact.patient_relationships.filter(relationship_type="insurance").exists()
    ):
        raise ContactError(
            "Patients have this insurer as their insurance provider: it must stay an insurer.", field="contact_type"
        )
    for field, value in values.items():
        setattr(contact, field, value)
    contact.name_key = name_key(contact.name)
    contact.save()
    return contact


@transaction.atomic
def set_archived(*, contact: Contact, archived: bool) -> Contact:
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    contact.is_archived = archived
    contact._change_reason = "Archived" if archived else "Restored"
    contact.save(update_fields=["is_archived", "updated_at"])
    return contact


@transaction.atomic
def follow_insurer_version(*, practice, published, version) -> int:
    """The practice made its own version of a published directory entry (an identifier set by hand
    or by the clearing-house sync): its insurer contacts now name that version, so bills and
    membership checks use what the practice sees. Registered with coding in ContactsConfig.ready()."""
    moved = 0
    for contact in Contact.objects.select_for_update().filter(practice=practice, insurer=published):
        contact.insurer = version
        contact._change_reason = "Follows the practice's version of its insurer directory entry"
        contact.save(update_fields=["insurer", "updated_at"])
        moved += 1
    return moved
