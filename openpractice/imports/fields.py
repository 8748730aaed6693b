"""What each kind of import reads: its fields (label, required, example) and the column headers
other systems use for them, from which the mapping is guessed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from openpractice.imports.models import ImportKind


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    help: str = ""


SOURCE_ID = Field(
    "source_id",
    "Id in the other system",
    aliases=("id", "patient id", "patientid", "client id", "account", "account no", "ref", "reference", "code"),
    help="Makes importing the same file again add nothing twice, even after names change.",
)
_ADDRESS = (
    Field("address_line1", "Address line 1", aliases=("address", "address 1", "addr1", "street")),
    Field("address_line2", "Address line 2", aliases=("address 2", "addr2")),
    Field("city", "Town or city", aliases=("town", "city", "address 3")),
    Field("postcode", "Postcode", aliases=("post code", "postal code", "zip")),
)

FIELDS: dict[str, tuple[Field, ...]] = {
    ImportKind.PATIENTS: (
        SOURCE_ID,
        Field("title", "Title", aliases=("salutation",)),
        Field("first_name", "First name", True, ("forename", "forenames", "given name", "firstname", "first")),
        Field("last_name", "Last name", True, ("surname", "family name", "lastname", "last")),
        Field("date_of_birth", "Date of birth", True, ("dob", "birth date", "birthdate", "born")),
        Field("sex", "Sex", aliases=("gender",)),
        Field("email", "Email", aliases=("email address", "e-mail")),
        Field("phone", "Phone", aliases=("telephone", "mobile", "tel", "phone number")),
        *_ADDRESS,
        Field("nhs_number", "NHS number", aliases=("nhs", "nhs no")),
        Field(
            "insurer",
            "Insurer",
            aliases=("insurance", "insurer name", "insurance company", "healthcode identifier"),
            help="An insurer contact's name or its Healthcode identifier, such as bup.",
        ),
        Field(
            "registration_number",
            "Registration number",
            aliases=("membership number", "membership no", "policy number", "member number", "policy no"),
        ),
    ),
    ImportKind.CONTACTS: (
        SOURCE_ID,
        Field("contact_type", "Type", aliases=("type", "category", "kind")),
        Field("name", "Name", True, ("contact name", "company", "organisation", "organization")),
        Field(
            "healthcode_identifier",
            "Healthcode identifier",
            aliases=("healthcode id", "hc identifier", "insurer code", "healthcode code"),
            help="An insurer's Healthcode identifier (Insurance), such as bup.",
        ),
        Field("email", "Email", aliases=("email address", "e-mail")),
        Field("phone", "Phone", aliases=("telephone", "tel")),
        *_ADDRESS,
        Field("notes", "Notes", aliases=("note", "comments")),
    ),
    ImportKind.PRODUCTS: (
        SOURCE_ID,
        Field("name", "Name", True, ("product", "description", "service", "item")),
        Field("product_type", "Type", aliases=("type",), help="Appointment or procedure."),
        Field("duration_minutes", "Duration (minutes)", aliases=("duration", "minutes", "length")),
        Field("list_price", "List price", True, ("price", "fee", "amount", "self pay price", "standard price")),
        Field("vat_treatment", "VAT", aliases=("vat treatment", "vat rate")),
        Field("industry_standard_code", "Industry standard code", aliases=("isc", "isc code")),
        Field("procedure_code", "Procedure code (CCSD)", aliases=("ccsd", "ccsd code", "procedure code")),
        Field("insurer", "Contract insurer", aliases=("insurer", "contract insurer", "insurance")),
        Field("contract_price", "Contract price", aliases=("insurer price", "contract fee", "contracted price")),
        Field("valid_from", "Contract valid from", aliases=("valid from", "from", "start date")),
        Field("valid_to", "Contract valid to", aliases=("valid to", "to", "end date")),
    ),
    ImportKind.INVOICES: (
        Field("number", "Invoice number", True, ("invoice number", "invoice no", "invoice", "inv no", "number")),
        Field(
            "patient",
            "Patient",
            True,
            ("patient id", "patient", "patient ref", "nhs number", "client id"),
            help="The patient's id in the other system (from its patient import) or NHS number.",
        ),
        Field("insurer", "Insurer", aliases=("insurer", "payer", "bill to insurer")),
        Field("registration_number", "Registration number", aliases=("membership number", "policy number")),
        Field("invoice_date", "Invoice date", True, ("date", "invoice date", "issued", "issue date")),
        Field("due_date", "Due date", aliases=("due",)),
        Field("total", "Invoice total", True, ("total", "amount", "gross", "invoice total")),
        Field("balance", "Still owed", True, ("balance", "outstanding", "owed", "amount due", "balance due")),
        Field("description", "Description", aliases=("details", "description", "memo")),
    ),
}


def fields_of(kind: str) -> tuple[Field, ...]:
    return FIELDS[kind]


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", (header or "").lower()).strip()


def guess_mapping(kind: str, headers: list[str]) -> dict[str, str]:
    """field → header: a header equal to the field's name or label, else to one of its aliases.
    Each header maps to one field at most (the first that claims it)."""
    by_key: dict[str, str] = {}
    for header in headers:
        by_key.setdefault(_key(header), header)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for rank in (0, 1):
        for field in FIELDS[kind]:
            if field.name in mapping:
                continue
            names = (
                (_key(field.name.replace("_", " ")), _key(field.label))
                if rank == 0
                else tuple(map(_key, field.aliases))
            )
            for name in names:
                found = by_key.get(name)
                if found is not None and found not in used:
                    mapping[field.name] = found
                    used.add(found)
                    break
    return mapping
