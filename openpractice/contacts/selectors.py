"""Reads for contacts, always within one practice."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from openpractice.contacts.models import Contact, ContactType
from openpractice.db import sql
from openpractice.patients.keys import name_key, next_prefix


def search_contacts(
    *, practice, query: str = "", contact_type: str = "", include_archived: bool = False
) -> QuerySet[Contact]:
    """Contacts whose name has a word starting with what was typed (or whose name key does),
    or whose insurer identifier is it; by name."""
    qs = Contact.objects.for_practice(practice).select_related("insurer")
    if not include_archived:
        qs = qs.filter(is_archived=False)
    if contact_type:
        qs = qs.filter(contact_type=contact_type)
    text = (query or "").strip()
    if text:
        key = name_key(text)
        condition = Q(name__icontains=text) | Q(insurer__healthcode_identifier=text.lower())
        if key:
            condition |= Q(name_key__gte=key, name_key__lt=next_prefix(key))
        qs = qs.filter(condition)
    return qs.order_by("name_key", "id")


def insurer_contacts(*, practice) -> QuerySet[Contact]:
    return search_contacts(practice=practice, contact_type=ContactType.INSURER).filter(insurer__isnull=False)


def insurer_choices(*, practice) -> list[dict]:
    """`insurer_contacts` as {"id", "name"} for a filter's options, in the same order: one
    hand-written statement, as the invoice list shows it on every page and the ORM took ten times
    longer to build it than PostgreSQL to run it (issue 18; tests hold the two equal)."""
    found = sql.fetch_all(
        f"SELECT c.id, c.name FROM {Contact._meta.db_table} c "
        "WHERE c.practice_id = %s AND NOT c.is_archived AND c.contact_type = %s AND c.insurer_id IS NOT NULL "
        "ORDER BY c.name_key, c.id",
        [practice.pk, ContactType.INSURER.value],
    )
    return [{"id": pk, "name": name} for pk, name in found]


def contact_usage(*, contact: Contact) -> dict:
    return {"patients": contact.patient_relationships.values("patient_id").distinct().count()}
