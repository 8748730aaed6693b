"""For someone who lost both their phone and their recovery codes: turn their two-factor sign-in
off, so they can sign in with their password and set it up again. Run by whoever runs the
server, after checking who is asking."""

from django.core.management.base import BaseCommand, CommandError

from openpractice.accounts import selectors, services
from openpractice.accounts.models import User


class Command(BaseCommand):
    help = "Turn off two-factor sign-in for one person (lost phone and recovery codes)."

    def add_arguments(self, parser):
        parser.add_argument("email", help="The person's email address.")

    def handle(self, *args, email: str, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No account has the email address {email}.")
        if selectors.two_factor_device(user=user) is None:
            self.stdout.write(f"Two-factor sign-in is already off for {user.email}.")
            return
        services.reset_two_factor(user=user)
        self.stdout.write(
            self.style.SUCCESS(
                f"Two-factor sign-in is off for {user.email}. They can sign in with their password and set it up again."
            )
        )
