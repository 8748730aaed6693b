"""The invoice list's filter choices are read by hand-written statements (contacts.selectors.
insurer_choices, practices.selectors.practitioner_choices; issue 18): the same options, in the same
order, as the ORM's readings they replace, and only the practice's own."""

from __future__ import annotations

from openpractice.accounts.models import PractitionerProfile
from openpractice.contacts.models import Contact, ContactType
from openpractice.contacts.selectors import insurer_choices, insurer_contacts
from openpractice.practices.models import Membership
from openpractice.practices.roles import Role
from openpractice.practices.selectors import practitioner_choices


def test_the_choices_are_the_orms(demo, other_practice, make_member):
    insurer = Contact.objects.filter(practice=demo, insurer__isnull=False).first()
    archived = Contact.objects.create(
        practice=demo, contact_type=ContactType.INSURER, name="Archived & Co", insurer=insurer.insurer, is_archived=True
    )
    Contact.objects.create(practice=demo, contact_type=ContactType.INSURER, name="No directory entry")
    Contact.objects.create(
        practice=other_practice, contact_type=ContactType.INSURER, name="Elsewhere", insurer=insurer.insurer
    )
    make_member(demo, Role.RECEPTIONIST, email="desk@example.test")  # no practitioner details: not a choice
    elsewhere = make_member(other_practice, Role.PRACTITIONER, email="far@example.test")
    PractitionerProfile.objects.create(
        membership=Membership.objects.get(user=elsewhere, practice=other_practice), practice=other_practice
    )

    insurers = insurer_choices(practice=demo)
    assert insurers == [{"id": c.id, "name": c.name} for c in insurer_contacts(practice=demo)]
    assert len(insurers) >= 2 and archived.pk not in {c["id"] for c in insurers}
    assert "Elsewhere" not in {c["name"] for c in insurers}

    practitioners = practitioner_choices(practice=demo)
    orm = (
        Membership.objects.for_practice(demo)
        .filter(practitioner_profile__isnull=False)
        .order_by("user__full_name", "id")
        .values("id", "user__full_name")
    )
    assert practitioners == [{"id": m["id"], "full_name": m["user__full_name"]} for m in orm]
    assert len(practitioners) >= 2


def test_the_list_offers_them(demo, client_for):
    client = client_for(Membership.objects.get(practice=demo, user__email__startswith="billing@").user)
    html = client.get("/invoices/").content.decode()
    for insurer in insurer_choices(practice=demo):
        assert f'<option value="{insurer["id"]}" >{insurer["name"]}</option>' in html
    for practitioner in practitioner_choices(practice=demo):
        assert f">{practitioner['full_name']}</option>" in html
