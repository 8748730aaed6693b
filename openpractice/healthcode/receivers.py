"""What makes a stored check stale (stored_checks.py): a change to anything the check reads
(checking.facts_for_queryset and DatabaseKnowledge). Each save is one UPDATE of the affected checks,
connected in HealthcodeConfig.ready; billing and the set-up apps know nothing of it.

- an invoice saved (a candidate without a check gets a stale one, so pages find it; its lines are written through the invoice's services, which save the invoice:
  no receiver per line, and a line receiver would stop Django's fast bulk delete of lines);
  a change made with `update()` still shows, as an `updated_at` after the check (stored_checks.due);
- the patient, the insurance relationship, the insurer contact, the practitioner's details, a location;
- a Find Member answer (MembershipCheck); the clearing house's insurer rules (InsurerRules) when a
  sync changes what the check reads (directory.store_insurer_rules: the sync rewrites every row daily);
- code sets, accepted-code lists and the insurer directory: `coding.signals.reference_changed`.

Products are not here: an invoice line keeps its own copy of the codes the check reads."""

from __future__ import annotations

from django.db.models import Q
from django.db.models.signals import post_save

from openpractice.accounts.models import PractitionerProfile
from openpractice.billing.models import Invoice
from openpractice.coding.signals import reference_changed as reference_signal
from openpractice.contacts.models import Contact
from openpractice.healthcode import stored_checks
from openpractice.healthcode.models import MembershipCheck
from openpractice.patients.models import Patient, PatientRelationship
from openpractice.practices.models import Location


def invoice_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        stored_checks.invoice_saved(instance)


def _invoices_where(**lookup):
    def receiver(sender, instance, raw=False, **kwargs) -> None:
        if not raw:
            stored_checks.mark_invoices_stale(
                Invoice.objects.filter(**{field: getattr(instance, attribute) for field, attribute in lookup.items()})
            )

    return receiver


patient_saved = _invoices_where(patient_id="pk")
relationship_saved = _invoices_where(insurance_id="pk")
contact_saved = _invoices_where(insurer_contact_id="pk")
practitioner_details_saved = _invoices_where(practitioner_id="membership_id")
membership_answer_saved = _invoices_where(insurance_id="relationship_id")


def location_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        stored_checks.mark_invoices_stale(
            Invoice.objects.filter(practice_id=instance.practice_id).filter(
                Q(provider_location_id=instance.pk) | Q(payee_location_id=instance.pk) | Q(facility_id=instance.pk)
            )
        )


def reference_changed(sender, practice=None, **kwargs) -> None:
    stored_checks.mark_practice_stale(practice=practice)


def connect() -> None:
    for model, receiver in (
        (Invoice, invoice_saved),
        (Patient, patient_saved),
        (PatientRelationship, relationship_saved),
        (Contact, contact_saved),
        (PractitionerProfile, practitioner_details_saved),
        (Location, location_saved),
        (MembershipCheck, membership_answer_saved),
    ):
        post_save.connect(receiver, sender=model, dispatch_uid=f"healthcode.stored_checks.{model.__name__}")
    reference_signal.connect(reference_changed, dispatch_uid="healthcode.stored_checks.reference")
