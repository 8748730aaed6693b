"""A bureau with several practices, each a small list world (tests/list_world.py: failed bills,
remittance lines to review, patient debts, insurer bills in every state) under a name of its own,
so a page or answer that shows another practice's data is caught by its name or id."""

from __future__ import annotations

import dataclasses

from openpractice.accounts.models import User
from openpractice.bureaus import services
from openpractice.bureaus.models import Bureau
from openpractice.coding.models import Insurer
from openpractice.contacts.models import Contact
from openpractice.healthcode.stored_checks import recheck_all
from openpractice.practices.models import Membership, Practice
from tests.list_world import World, build_world

NAMES = ("Alder Rooms", "Birchwood Clinic", "Cedar Consulting", "Damson Surgery", "Elmfield Practice")


@dataclasses.dataclass
class BureauWorld:
    bureau: Bureau
    practices: list[Practice]
    worlds: list[World]


def build_bureau(*, practices: int = 3, invoices: int = 20, name: str = "Harbour Billing Bureau") -> BureauWorld:
    bureau = services.create_bureau(name=name)
    made, worlds = [], []
    bupa = Insurer.objects.filter(practice__isnull=True, healthcode_identifier="bup").first()
    for n in range(practices):
        practice = Practice.objects.create(name=NAMES[n])
        world = build_world(practice, invoices=invoices, email=f"owner{n}@{practice.pk}.bureau.test")
        # The first insurer of every practice is Bupa in the directory: the filter by insurer.
        Contact.objects.filter(pk=world.insurers[0].pk).update(insurer=bupa)
        recheck_all(practice=practice)
        services.add_practice(bureau=bureau, practice=practice)
        made.append(practice)
        worlds.append(world)
    return BureauWorld(bureau, made, worlds)


def bureau_user(world: BureauWorld, roles: dict[int, str], *, email: str = "staff@bureau.test") -> User:
    """A member of the bureau's staff, member of the practices at the given indexes with those roles."""
    user = User.objects.create_user(email=email, password="x", full_name="Sam Staff")
    services.add_staff(bureau=world.bureau, user=user)
    for index, role in roles.items():
        Membership.objects.create(user=user, practice=world.practices[index], role=role)
    return user
