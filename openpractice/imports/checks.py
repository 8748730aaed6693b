"""Checking and writing the rows of one import, per kind.

Every row is read with the validators the forms and services use (NHS number, dates, postcode,
email, membership formats from coding/insurer_formats.py, money as Decimal), and each problem is
kept with its row, field, column and value and what would be valid, never just the first.

Patients, the large kind, are checked here in Python (read-only, so the check can report
progress) and then written in bulk (patients.services.import_patients: COPY on PostgreSQL).
Contacts, products and open invoices go through their apps' own services row by row, each row in
a savepoint: a refused row becomes a problem and the others carry on, so the check lists every
problem; a check (dry run) then rolls all of it back.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from openpractice.billing import services as billing
from openpractice.billing.errors import BillingError
from openpractice.billing.models import Invoice
from openpractice.coding import insurer_formats as formats
from openpractice.coding.selectors import insurers_for_practice
from openpractice.contacts import services as contacts
from openpractice.contacts.models import Contact, ContactType
from openpractice.domain_errors import DomainError
from openpractice.imports import values
from openpractice.imports.fields import fields_of
from openpractice.imports.models import ImportedRow, ImportKind
from openpractice.patients import keys
from openpractice.patients import services as patients
from openpractice.patients.models import Patient, PatientRelationship, RelationshipType, Sex
from openpractice.patients.validators import normalise_nhs_number, validate_nhs_number
from openpractice.practices.selectors import practitioners
from openpractice.practices.validators import normalise_postcode, validate_uk_postcode
from openpractice.products import services as products
from openpractice.products.models import ContractPrice, Product, ProductType, VatTreatment

PROGRESS_EVERY = 2000
OPENING_BALANCE_PRODUCT = "Opening balance (imported)"


@dataclasses.dataclass(frozen=True)
class Problem:
    row: int  # the file's line number (the header is line 1); 0 for the file as a whole
    field: str
    column: str
    value: str
    message: str

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Plan:
    kind: str
    total: int = 0
    create: list[tuple[int, str, object]] = dataclasses.field(default_factory=list)  # (row, key, values or id)
    matched: list[tuple[int, str, int]] = dataclasses.field(default_factory=list)  # already in OpenPractice
    imported: int = 0  # rows an earlier import of this practice already brought in
    paid: int = 0  # invoices with nothing owed: left out
    problems: list[Problem] = dataclasses.field(default_factory=list)
    extra: dict = dataclasses.field(default_factory=dict)  # e.g. contract prices made beside products

    def counts(self) -> dict:
        return {
            "rows": self.total,
            "create": len(self.create),
            "already_here": len(self.matched),
            "already_imported": self.imported,
            "paid": self.paid,
            "problems": len(self.problems),
        }


class Cells:
    """One row's cells by field, through the mapping (field → column header)."""

    def __init__(self, headers: list[str], mapping: dict[str, str]):
        self.mapping = mapping
        self.index = {f: headers.index(c) for f, c in mapping.items() if c and c in headers}
        self.fields = tuple(self.index)
        self.columns = tuple(self.index.values())
        self.width = max(self.columns, default=-1) + 1

    def getter(self, row: list[str]) -> Callable[[str], str]:
        """The cell of a field, stripped; "" for a field not mapped (a dict lookup in C: a file of
        100,000 rows asks for some 60 cells a row)."""
        if len(row) < self.width:
            row = row + [""] * (self.width - len(row))
        return defaultdict(str, zip(self.fields, [row[i].strip() for i in self.columns])).__getitem__


class RowProblems:
    def __init__(self, plan: Plan, cells: Cells, line: int, get):
        self.plan, self.cells, self.line, self.get, self.found = plan, cells, line, get, False

    def __call__(self, field: str, message: str, value: str | None = None) -> None:
        self.found = True
        self.plan.problems.append(
            Problem(
                self.line,
                field,
                self.cells.mapping.get(field, ""),
                (self.get(field) if value is None else value)[:200],  # a problem shows the cell, not a novel
                message,
            )
        )


def _max_length(bad, get, field: str, label: str, limit: int) -> str:
    value = get(field)
    if len(value) > limit:
        bad(field, f"The {label} has at most {limit} characters.")
    return value


# Addresses of this plain shape pass Django's validate_email too (a strict subset: dot-atom local
# part, LDH labels, an alphabetic top-level domain): checked by regex alone; any other goes to
# validate_email itself (tests/imports/test_values_properties.py holds the subset true).
PLAIN_EMAIL = re.compile(r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def _email(bad, get) -> str:
    value = get("email").lower()
    if value and not (len(value) <= 254 and PLAIN_EMAIL.fullmatch(value)):
        try:
            validate_email(value)
        except ValidationError:
            bad("email", "Enter a valid email address, such as name@example.com.")
    return value


@functools.lru_cache(maxsize=65536)
def _checked_postcode(value: str) -> tuple[str, str]:
    """(the postcode as stored, "") or (value, why not); cached, as one street's patients share it."""
    try:
        validate_uk_postcode(value)
    except ValidationError as exc:
        return value, exc.messages[0]
    return normalise_postcode(value), ""


def _postcode(bad, get) -> str:
    value = get("postcode")
    if not value:
        return ""
    value, message = _checked_postcode(value)
    if message:
        bad("postcode", message)
    return value


def _parsed(bad, get, field: str, label: str, *, parse, missing: str, required: bool):
    """A cell read by `parse` (one of `values`' readers): a problem named by field when it is
    missing but required, or when `parse` refuses it (its message says what would be valid)."""
    text = get(field)
    if not text:
        if required:
            bad(field, missing)
        return None
    try:
        return parse(text, label=label)
    except ValueError as exc:
        bad(field, str(exc))
        return None


def _date(bad, get, field: str, label: str, *, required: bool = False) -> date | None:
    missing = f"Enter the {label.lower()}, such as 12/04/1980."
    return _parsed(bad, get, field, label, parse=values.date, missing=missing, required=required)


def _money(bad, get, field: str, label: str, *, required: bool = False):
    missing = f"Enter the {label.lower()} in pounds and pence, such as 180.00."
    return _parsed(bad, get, field, label, parse=values.money, missing=missing, required=required)


class Insurers:
    """The practice's insurer contacts by Healthcode identifier and by name."""

    def __init__(self, practice) -> None:
        self.by_key: dict[str, Contact] = {}
        self.names: list[str] = []
        for contact in (
            Contact.objects.for_practice(practice)
            .filter(contact_type=ContactType.INSURER, is_archived=False)
            .select_related("insurer")
        ):
            self.names.append(
                f"{contact.name} ({contact.insurer.healthcode_identifier})"
                if contact.insurer and contact.insurer.healthcode_identifier
                else contact.name
            )
            self.by_key.setdefault(keys.name_key(contact.name), contact)
            if contact.insurer and contact.insurer.healthcode_identifier:
                self.by_key.setdefault(contact.insurer.healthcode_identifier.lower(), contact)

    def find(self, text: str) -> Contact | None:
        return self.by_key.get(text.strip().lower()) or self.by_key.get(keys.name_key(text))

    def unknown(self, text: str) -> str:
        known = ", ".join(sorted(self.names)[:8]) or "none yet"
        return (
            f"No insurer contact “{text}”: use an insurer contact's name or Healthcode identifier "
            f"(this practice has {known}), or import the contacts first."
        )


def stored(key: str) -> str:
    """A natural key as ImportedRow keeps it: a key longer than its column (a very long id or
    name) by its SHA-256, so it still matches the next import of the same file."""
    return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _imported_keys(practice, kind: str) -> set[str]:
    return set(ImportedRow.objects.for_practice(practice).filter(kind=kind).values_list("source_key", flat=True))


def _imported_map(practice, kind: str) -> dict[str, int]:
    return dict(ImportedRow.objects.for_practice(practice).filter(kind=kind).values_list("source_key", "object_id"))


# -- patients -------------------------------------------------------------------------------------
SEXES = {
    "": Sex.UNKNOWN,
    "m": Sex.MALE,
    "male": Sex.MALE,
    "f": Sex.FEMALE,
    "female": Sex.FEMALE,
    "o": Sex.OTHER,
    "other": Sex.OTHER,
    "u": Sex.UNKNOWN,
    "unknown": Sex.UNKNOWN,
    "not known": Sex.UNKNOWN,
}
_PATIENT_LENGTHS = (
    ("title", "title", 20),
    ("first_name", "first name", 100),
    ("last_name", "last name", 100),
    ("phone", "phone", 30),
    ("address_line1", "address line 1", 200),
    ("address_line2", "address line 2", 200),
    ("city", "town or city", 100),
)


def patient_key(*, source_id: str, nhs_number: str, last_name: str, first_name: str, born: date | None) -> str:
    """The natural key of a patient row: the other system's id, else the NHS number, else the
    name and date of birth."""
    if source_id:
        return "id:" + values.identifier(source_id)
    if nhs_number:
        return "nhs:" + nhs_number
    return f"nd:{keys.name_key(last_name)}|{keys.name_key(first_name)}|{born.isoformat() if born else ''}"


def plan_patients(run, headers: list[str], rows: list[list[str]], progress=None) -> Plan:
    practice = run.practice
    plan = Plan(ImportKind.PATIENTS, total=len(rows))
    cells = Cells(headers, run.mapping)
    imported = _imported_keys(practice, ImportKind.PATIENTS)
    name_key = functools.lru_cache(maxsize=65536)(keys.name_key)
    by_nhs: dict[str, int] = {}
    by_name: dict[str, int] = {}
    for pk, nhs, last, first, born in Patient.objects.for_practice(practice).values_list(
        "pk", "nhs_number", "last_name_key", "first_name_key", "date_of_birth"
    ):
        if nhs:
            by_nhs[nhs] = pk
        by_name.setdefault(f"{last}|{first}|{born.isoformat()}", pk)
    insurers = Insurers(practice) if "insurer" in cells.index else None
    seen: dict[str, int] = {}
    seen_nhs: dict[str, int] = {}
    today = timezone.localdate()
    for n, row in enumerate(rows):
        line = n + 2
        if progress and n and n % PROGRESS_EVERY == 0:
            progress(n)
        get = cells.getter(row)
        bad = RowProblems(plan, cells, line, get)
        first, last = get("first_name"), get("last_name")
        if not first:
            bad("first_name", "Enter the patient's first name.")
        if not last:
            bad("last_name", "Enter the patient's last name.")
        for field, label, limit in _PATIENT_LENGTHS:
            _max_length(bad, get, field, label, limit)
        born = _date(bad, get, "date_of_birth", "Date of birth", required=True)
        if born and (born > today or born.year < 1880):
            bad("date_of_birth", "The date of birth must be a real date in the past, such as 12/04/1980.")
        sex = SEXES.get(get("sex").lower())
        if sex is None:
            bad("sex", "Choose the sex: Female, Male, Other or Not known (F, M, O or U).")
        email = _email(bad, get)
        postcode = _postcode(bad, get)
        nhs = normalise_nhs_number(get("nhs_number"))
        if nhs:
            try:
                validate_nhs_number(nhs)
            except ValidationError as exc:
                bad("nhs_number", exc.messages[0])
                nhs = ""
        insurer_text, registration = get("insurer"), get("registration_number")
        contact = None
        if insurers is not None and insurer_text:
            contact = insurers.find(insurer_text)
            if contact is None:
                bad("insurer", insurers.unknown(insurer_text))
            else:
                identifier = contact.insurer.healthcode_identifier if contact.insurer else ""
                checked = formats.check_registration_number(registration, identifier=identifier, name=contact.name)
                if not checked.ok:
                    bad("registration_number", checked.message)
                registration = checked.value
        elif registration:
            bad(
                "insurer",
                "Name the insurer this registration number is with (its contact name or Healthcode identifier).",
            )
        source_id = get("source_id")
        if source_id:
            key = "id:" + values.identifier(source_id)
        else:
            key = patient_key(source_id="", nhs_number=nhs, last_name=last, first_name=first, born=born)
        key = stored(key)
        if key in seen:
            bad("source_id" if key.startswith("id:") else "nhs_number", f"The same patient as row {seen[key]}.")
        seen.setdefault(key, line)
        if nhs and nhs in seen_nhs and seen_nhs[nhs] != line:
            bad("nhs_number", f"Row {seen_nhs[nhs]} has the same NHS number.")
        if nhs:
            seen_nhs.setdefault(nhs, line)
        if bad.found:
            continue
        if key in imported:
            plan.imported += 1
            continue
        existing = by_nhs.get(nhs) if nhs else None
        if existing is None and born:
            existing = by_name.get(f"{name_key(last)}|{name_key(first)}|{born.isoformat()}")
        if existing is not None:
            plan.matched.append((line, key, existing))
            continue
        plan.create.append(
            (
                line,
                key,
                {
                    "title": get("title"),
                    "first_name": first,
                    "last_name": last,
                    "date_of_birth": born,
                    "sex": sex,
                    "email": email,
                    "phone": get("phone"),
                    "address_line1": get("address_line1"),
                    "address_line2": get("address_line2"),
                    "city": get("city"),
                    "postcode": postcode,
                    "nhs_number": nhs,
                    "_insurance": (contact.pk, registration) if contact is not None else None,
                },
            )
        )
    if progress:
        progress(len(rows))
    return plan


def write_patients(run, plan: Plan) -> None:
    """The checked patients in bulk, in the caller's transaction; `plan.create` gets their ids."""
    rows: list[dict] = []
    for _, _, cells in plan.create:
        assert isinstance(cells, dict)  # plan_patients keeps each new patient's values, not an id
        rows.append(cells)
    insurance = [(i, *values["_insurance"]) for i, values in enumerate(rows) if values["_insurance"]]
    ids = patients.import_patients(practice=run.practice, patients=rows, insurance=insurance)
    plan.create = [(line, key, pk) for (line, key, _), pk in zip(plan.create, ids, strict=True)]


# -- the kinds written through their services ----------------------------------------------------
FIELD_OF_SERVICE: dict[str, dict[str, str]] = {
    ImportKind.CONTACTS: {"insurer": "healthcode_identifier"},
    ImportKind.PRODUCTS: {"price": "contract_price", "insurer_contact": "insurer"},
    ImportKind.INVOICES: {"insurance": "insurer", "related": "insurer", "product": "description"},
}


def _service_problem(bad, kind: str, exc: DomainError) -> None:
    field = FIELD_OF_SERVICE.get(kind, {}).get(exc.field or "", exc.field or "")
    known = {f.name for f in fields_of(kind)}
    bad(field if field in known else "", exc.message, None if field in known else "")


def _in_savepoint(bad, kind: str, write: Callable, **arguments):
    """One row's writes (`write(**arguments)`) in a savepoint: refused, the row's problem is kept
    and the rest go on."""
    try:
        with transaction.atomic():
            return write(**arguments)
    except DomainError as exc:
        _service_problem(bad, kind, exc)
        return None


CONTACT_TYPES = {**{v: v for v in ContactType.values}, **{label.lower(): v for v, label in ContactType.choices}}


def plan_contacts(run, headers, rows, progress=None) -> Plan:
    practice = run.practice
    plan = Plan(ImportKind.CONTACTS, total=len(rows))
    cells = Cells(headers, run.mapping)
    imported = _imported_keys(practice, ImportKind.CONTACTS)
    existing = {
        (t, k): pk for pk, t, k in Contact.objects.for_practice(practice).values_list("pk", "contact_type", "name_key")
    }
    directory = {
        i.healthcode_identifier.lower(): i for i in insurers_for_practice(practice=practice) if i.healthcode_identifier
    }
    seen: dict[str, int] = {}
    for n, row in enumerate(rows):
        line = n + 2
        get = cells.getter(row)
        bad = RowProblems(plan, cells, line, get)
        name = get("name")
        identifier = get("healthcode_identifier").lower()
        kind_text = get("contact_type").lower()
        contact_type = (
            CONTACT_TYPES.get(kind_text) if kind_text else (ContactType.INSURER if identifier else ContactType.OTHER)
        )
        if contact_type is None:
            bad("contact_type", f"Choose the type: {', '.join(ContactType.labels)}.")
        if not name:
            bad("name", "Enter the contact's name.")
        _max_length(bad, get, "name", "name", 200)
        insurer = None
        if contact_type == ContactType.INSURER:
            insurer = directory.get(identifier)
            if insurer is None:
                bad(
                    "healthcode_identifier",
                    "Enter the insurer's Healthcode identifier (Insurance) from the directory, such as bup "
                    "(Bupa) or ppp (AXA Health)."
                    if not identifier
                    else f"“{identifier}” is not in the insurer directory: "
                    "use the Healthcode identifier (Insurance), such as bup.",
                )
        email = _email(bad, get)
        postcode = _postcode(bad, get)
        key = (
            "id:" + values.identifier(get("source_id"))
            if get("source_id")
            else f"name:{contact_type}|{keys.name_key(name)}"
        )
        key = stored(key)
        if key in seen:
            bad("name", f"The same contact as row {seen[key]}.")
        seen.setdefault(key, line)
        if bad.found:
            continue
        if key in imported:
            plan.imported += 1
            continue
        match = existing.get((contact_type, keys.name_key(name)))
        if match is not None:
            plan.matched.append((line, key, match))
            continue
        data = {
            "contact_type": contact_type,
            "name": name,
            "insurer": insurer,
            "email": email,
            "phone": get("phone"),
            "address_line1": get("address_line1"),
            "address_line2": get("address_line2"),
            "city": get("city"),
            "postcode": postcode,
            "notes": get("notes"),
        }
        contact = _in_savepoint(bad, plan.kind, contacts.create_contact, practice=practice, data=data)
        if contact is not None:
            plan.create.append((line, key, contact.pk))
    return plan


def _product_type(text: str, duration) -> str | None:
    text = text.lower()
    if not text:
        return ProductType.APPOINTMENT if duration else ProductType.PROCEDURE
    return {v: v for v in ProductType.values}.get(text) or {label.lower(): v for v, label in ProductType.choices}.get(
        text
    )


VATS = {
    "": VatTreatment.EXEMPT,
    "exempt": VatTreatment.EXEMPT,
    "standard": VatTreatment.STANDARD,
    "20%": VatTreatment.STANDARD,
    "20": VatTreatment.STANDARD,
    "zero": VatTreatment.ZERO,
    "0%": VatTreatment.ZERO,
}


def plan_products(run, headers, rows, progress=None) -> Plan:
    practice = run.practice
    plan = Plan(ImportKind.PRODUCTS, total=len(rows))
    cells = Cells(headers, run.mapping)
    imported = _imported_keys(practice, ImportKind.PRODUCTS)
    existing = {p.name_key: p for p in Product.objects.for_practice(practice)}
    made: dict[str, Product] = {}
    insurers = Insurers(practice)
    seen: dict[str, int] = {}
    for n, row in enumerate(rows):
        line = n + 2
        get = cells.getter(row)
        bad = RowProblems(plan, cells, line, get)
        name = get("name")
        if not name:
            bad("name", "Enter the product's name, such as Initial consultation.")
        duration = None
        if get("duration_minutes"):
            try:
                duration = int(get("duration_minutes"))
            except ValueError:
                bad("duration_minutes", "Enter the duration as whole minutes, such as 30.")
        product_type = _product_type(get("product_type"), duration)
        if product_type is None:
            bad("product_type", "Choose the type: Appointment or Procedure.")
        list_price = _money(bad, get, "list_price", "List price", required=True)
        vat = VATS.get(get("vat_treatment").lower().replace(" rate", ""))
        if vat is None:
            bad("vat_treatment", "Choose the VAT treatment: exempt, standard (20%) or zero (0%).")
        contact = None
        if get("insurer"):
            contact = insurers.find(get("insurer"))
            if contact is None:
                bad("insurer", insurers.unknown(get("insurer")))
        contract_price = _money(bad, get, "contract_price", "Contract price", required=contact is not None)
        if contract_price is not None and not get("insurer"):
            bad("insurer", "Name the insurer this contract price is agreed with.")
        valid_from = _date(bad, get, "valid_from", "Valid from") or (timezone.localdate() if contact else None)
        valid_to = _date(bad, get, "valid_to", "Valid to")
        name_key = keys.name_key(name)
        key = f"product:{name_key}" + (f"|{contact.pk}|{valid_from.isoformat()}" if contact and valid_from else "")
        key = stored(key)
        if key in seen:
            bad("name", f"The same product{' and contract price' if contact else ''} as row {seen[key]}.")
        seen.setdefault(key, line)
        if bad.found:
            continue
        if key in imported:
            plan.imported += 1
            continue
        product = existing.get(name_key) or made.get(name_key)
        if product is None:
            data = {
                "product_type": product_type,
                "name": name,
                "duration_minutes": duration,
                "list_price": list_price,
                "vat_treatment": vat,
                "industry_standard_code": get("industry_standard_code"),
                "procedure_code": get("procedure_code"),
            }
            product = _in_savepoint(bad, plan.kind, products.create_product, practice=practice, data=data)
            if product is None:
                continue
            made[name_key] = product
            if contact is None:
                plan.create.append((line, key, product.pk))
                continue
        elif contact is None:
            plan.matched.append((line, key, product.pk))
            continue
        assert valid_from is not None  # with an insurer, a contract price starts today unless the file says
        same = ContractPrice.objects.filter(product=product, insurer_contact=contact, valid_from=valid_from).first()
        if same is not None:
            plan.matched.append((line, key, same.pk))
            continue
        contract = _in_savepoint(
            bad,
            plan.kind,
            products.set_contract_price,
            product=product,
            insurer_contact=contact,
            price=contract_price,
            valid_from=valid_from,
            valid_to=valid_to,
        )
        if contract is not None:
            plan.create.append((line, key, contract.pk))
    return plan


def opening_balance_product(practice) -> Product:
    product = Product.objects.for_practice(practice).filter(name_key=keys.name_key(OPENING_BALANCE_PRODUCT)).first()
    return product or products.create_product(
        practice=practice,
        data={"product_type": ProductType.PROCEDURE, "name": OPENING_BALANCE_PRODUCT, "list_price": "0"},
    )


def _opening_balance(*, run, patient, contact, registration: str, **invoice):
    """One open invoice: the patient's membership with the insurer (added when the file gives a
    registration number the patient does not have yet), then billing's opening balance."""
    insurance = None
    if contact is not None:
        memberships = PatientRelationship.objects.filter(
            patient=patient, relationship_type=RelationshipType.INSURANCE, related_contact=contact
        )
        if registration:
            memberships = memberships.filter(registration_key=keys.registration_key(registration))
        insurance = memberships.order_by("-pk").first()
        if insurance is None and registration:
            insurance = patients.add_relationship(
                patient=patient,
                data={
                    "relationship_type": RelationshipType.INSURANCE,
                    "related_contact": contact,
                    "registration_number": registration,
                },
            )
        if insurance is None:
            raise BillingError(
                f"{patient.full_name} has no membership with {contact.name}: add a registration number "
                "column, or import the patient with the insurer first.",
                field="insurance",
            )
    return billing.create_opening_balance(
        practice=run.practice,
        patient=patient,
        insurance=insurance,
        source=run.source_name,
        created_by=run.created_by,
        **invoice,
    )


def plan_invoices(run, headers, rows, progress=None) -> Plan:
    practice = run.practice
    plan = Plan(ImportKind.INVOICES, total=len(rows))
    cells = Cells(headers, run.mapping)
    imported = _imported_keys(practice, ImportKind.INVOICES)
    imported_patients = _imported_map(practice, ImportKind.PATIENTS)
    numbers = dict(Invoice.objects.for_practice(practice).exclude(number="").values_list("number", "pk"))
    insurers = Insurers(practice)
    practitioner = practitioners(practice=practice).first()
    if practitioner is None:
        plan.problems.append(
            Problem(0, "", "", "", "Add a practitioner to the practice (Settings › Users) before importing invoices.")
        )
        return plan
    product = opening_balance_product(practice)
    seen: dict[str, int] = {}
    for n, row in enumerate(rows):
        line = n + 2
        get = cells.getter(row)
        bad = RowProblems(plan, cells, line, get)
        number = values.identifier(get("number")).replace(" ", "")
        if not number:
            bad("number", "Enter the invoice number.")
        elif len(number) > billing.MAX_NUMBER_LENGTH or "." in number:
            bad("number", f"An invoice number has at most {billing.MAX_NUMBER_LENGTH} characters and no full stops.")
        patient_text = get("patient")
        patient_id = imported_patients.get("id:" + values.identifier(patient_text)) if patient_text else None
        if patient_id is None and patient_text:
            nhs = normalise_nhs_number(patient_text)
            patient_id = imported_patients.get("nhs:" + nhs) or (
                Patient.objects.for_practice(practice).filter(nhs_number=nhs).values_list("pk", flat=True).first()
                if nhs.isdigit()
                else None
            )
        if patient_id is None:
            bad(
                "patient",
                "No patient with this id or NHS number: import the patients first (with their id column), "
                "or give the patient's NHS number."
                if patient_text
                else "Enter the patient's id or NHS number.",
            )
        invoice_date = _date(bad, get, "invoice_date", "Invoice date", required=True)
        due_date = _date(bad, get, "due_date", "Due date")
        total = _money(bad, get, "total", "Invoice total", required=True)
        balance = _money(bad, get, "balance", "Still owed", required=True)
        if total is not None and balance is not None and balance > total:
            bad("balance", f"What is still owed cannot be more than the total (£{total:,.2f}).")
        contact = None
        if get("insurer"):
            contact = insurers.find(get("insurer"))
            if contact is None:
                bad("insurer", insurers.unknown(get("insurer")))
        key = "number:" + number
        key = stored(key)
        if number and key in seen:
            bad("number", f"Row {seen[key]} has the same invoice number.")
        seen.setdefault(key, line)
        if bad.found:
            continue
        if key in imported:
            plan.imported += 1
            continue
        if number in numbers:
            plan.matched.append((line, key, numbers[number]))
            continue
        if balance == 0:
            plan.paid += 1
            continue
        assert patient_id is not None  # a row without its patient is a problem, skipped above
        invoice = _in_savepoint(
            bad,
            plan.kind,
            _opening_balance,
            run=run,
            patient=Patient.objects.get(pk=patient_id),
            contact=contact,
            registration=get("registration_number"),
            number=number,
            practitioner=practitioner,
            product=product,
            invoice_date=invoice_date,
            due_date=due_date,
            total=total,
            balance=balance,
            description=get("description"),
        )
        if invoice is not None:
            plan.create.append((line, key, invoice.pk))
    return plan


PLANNERS: dict[str, Callable[..., Plan]] = {
    ImportKind.PATIENTS: plan_patients,
    ImportKind.CONTACTS: plan_contacts,
    ImportKind.PRODUCTS: plan_products,
    ImportKind.INVOICES: plan_invoices,
}
