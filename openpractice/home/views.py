"""The dashboard: the day's work (home/selectors.py: money owed by age, failed bills, bills not
ready, remittance lines and shortfalls waiting, old debt; each a link to the list of exactly those
rows), and the getting-started checklist while set-up is incomplete, which reads every app's
set-up (practice, team, Healthcode credentials, practitioners, insurers, prices, patients)."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse

from openpractice.accounts.models import PractitionerProfile
from openpractice.contacts.models import Contact
from openpractice.healthcode.services import integration_for, is_tested
from openpractice.home import selectors
from openpractice.patients.models import PatientRelationship
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.products.models import ContractPrice


def _healthcode_setup_steps(practice) -> list[dict]:
    """The rest of the Healthcode set-up guide (HEALTHCODE.md), in its order."""
    return [
        {
            "label": "Give each practitioner their Healthcode identifier",
            "done": PractitionerProfile.objects.filter(practice=practice).exclude(healthcode_identifier="").exists(),
            "url": reverse("practices:user_list"),
        },
        {
            "label": "Add your insurers as contacts, with their Healthcode identifier (Insurance)",
            "done": Contact.objects.filter(practice=practice, contact_type="insurer", insurer__isnull=False).exists(),
            "url": reverse("contacts:list"),
        },
        {
            "label": "Add products with contract prices and codes",
            "done": ContractPrice.objects.filter(practice=practice).exists(),
            "url": reverse("products:list"),
        },
        {
            "label": "Add patients with their insurer and registration number",
            "done": PatientRelationship.objects.filter(practice=practice, relationship_type="insurance").exists(),
            "url": reverse("patients:list"),
        },
    ]


@require_capability(Capability.VIEW_RECORDS)
def dashboard(request):
    practice = request.practice
    integration = integration_for(practice)
    checklist = [
        {
            "label": "Add your practice's address and contact details",
            "done": bool(practice.address_line1 and practice.postcode),
            "url": reverse("practices:settings_practice"),
        },
        {
            "label": "Add the locations you work from",
            "done": practice.locations.exists(),
            "url": reverse("practices:location_list"),
        },
        {
            "label": "Invite your team",
            "done": practice.memberships.count() > 1,
            "url": reverse("practices:user_list"),
        },
        {
            "label": "Enter your Healthcode credentials and test the connection",
            "done": is_tested(integration),
            "url": reverse("healthcode:integrations"),
        },
        *_healthcode_setup_steps(practice),
    ]
    scope = selectors.scope_for(request.membership)
    return render(
        request,
        "home/dashboard.html",
        {
            "checklist": checklist,
            "checklist_done": all(item["done"] for item in checklist),
            "integration": integration,
            "work": selectors.day_of_work(practice=practice, scope=scope),
        },
    )
