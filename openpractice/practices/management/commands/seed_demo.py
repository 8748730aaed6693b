"""Load the demo practice once: users for every role, locations, and the sandbox credentials."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from openpractice.accounts.models import User
from openpractice.practices import services
from openpractice.practices.models import Practice
from openpractice.practices.roles import Role

DEMO_PRACTICE = "Harley Street Demo Clinic"
DEMO_PASSWORD = "demo-practice-2026"
DEMO_USERS = [
    ("owner@demo.openpractice.test", "Olivia Owner", Role.OWNER),
    ("dr.patel@demo.openpractice.test", "Dr Asha Patel", Role.PRACTITIONER),
    ("reception@demo.openpractice.test", "Rita Reception", Role.RECEPTIONIST),
    ("billing@demo.openpractice.test", "Ben Biller", Role.BILLING),
]
# The sandbox clearing house's demo site (docs/sandbox.md).
SANDBOX_SITE_ID = "HC16190"
SANDBOX_API_KEY_ID = "openpractice-demo"
SANDBOX_API_KEY = "sandbox-demo-key"


class Command(BaseCommand):
    help = "Create the demo practice with an owner, a practitioner, a receptionist and a biller (once)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-if-exists", action="store_true", help="Say nothing when it is already there.")

    @transaction.atomic
    def handle(self, *args, **options):
        if Practice.objects.filter(name=DEMO_PRACTICE).exists():
            if not options["quiet_if_exists"]:
                self.stdout.write("The demo practice is already loaded.")
            return
        users = {}
        for email, name, role in DEMO_USERS:
            users[role] = User.objects.filter(email=email).first() or User.objects.create_user(
                email=email, password=DEMO_PASSWORD, full_name=name
            )
        practice = services.create_practice(
            name=DEMO_PRACTICE, owner=users[Role.OWNER],
            address_line1="10 Harley Street", city="London", postcode="W1G 9PF",
            phone="020 7946 0000", email="hello@demo.openpractice.test",
        )
        for email, name, role in DEMO_USERS[1:]:
            services.add_member(practice=practice, email=email, full_name=name, role=role,
                                added_by=users[Role.OWNER], password=DEMO_PASSWORD)
        services.create_location(practice=practice, data={
            "name": "Harley Street consulting rooms", "address_line1": "10 Harley Street",
            "city": "London", "postcode": "W1G 9PF", "phone": "020 7946 0000", "is_active": True,
        })
        services.create_location(practice=practice, data={
            "name": "London Bridge Hospital", "address_line1": "27 Tooley Street",
            "city": "London", "postcode": "SE1 2PR", "phone": "", "is_active": True,
        })
        services.save_healthcode_credentials(
            practice=practice, environment="sandbox",
            discovery_url=settings.SANDBOX_URL.rstrip("/") + "/.well-known/healthcode-discovery",
            site_id=SANDBOX_SITE_ID, api_key_id=SANDBOX_API_KEY_ID, api_key=SANDBOX_API_KEY,
        )
        self.stdout.write(self.style.SUCCESS(f"Demo practice “{DEMO_PRACTICE}” loaded. Log in at http://127.0.0.1:8000 with:"))
        for email, _, role in DEMO_USERS:
            self.stdout.write(f"  {Role(role).label:<13} {email}  password: {DEMO_PASSWORD}")
