"""Roles a member holds in a practice, and what each may do.

Views and API handlers ask for a capability, never a role, so a new role is one line here.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Administrator"
    PRACTITIONER = "practitioner", "Practitioner"
    RECEPTIONIST = "receptionist", "Receptionist"
    BILLING = "billing", "Billing"


class Capability(models.TextChoices):
    VIEW_RECORDS = "view_records", "See patients, contacts, products and invoices"
    EDIT_RECORDS = "edit_records", "Add and edit patients, contacts and products"
    BILLING = "billing", "Raise invoices, submit bills and post payments"
    MANAGE_SETTINGS = "manage_settings", "Change practice details and locations"
    MANAGE_USERS = "manage_users", "Invite users and set their roles"
    MANAGE_INTEGRATIONS = "manage_integrations", "Set up the Healthcode integration"
    VIEW_AUDIT = "view_audit", "See who opened which records (the read log)"
    MANAGE_COLLECTIONS = "manage_collections", "Chase what patients owe: accounts, reminders, the work queue"
    APPROVE_WRITE_OFFS = "approve_write_offs", "Approve and reverse write-offs of patient debts"


_ALL = set(Capability)
CAPABILITIES: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(_ALL),
    Role.ADMIN: frozenset(_ALL),
    Role.BILLING: frozenset(
        {Capability.VIEW_RECORDS, Capability.EDIT_RECORDS, Capability.BILLING, Capability.MANAGE_COLLECTIONS}
    ),
    Role.PRACTITIONER: frozenset({Capability.VIEW_RECORDS, Capability.EDIT_RECORDS}),
    Role.RECEPTIONIST: frozenset({Capability.VIEW_RECORDS, Capability.EDIT_RECORDS}),
}


def role_can(role: str, capability: str) -> bool:
    return capability in CAPABILITIES.get(role, frozenset())
