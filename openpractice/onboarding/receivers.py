"""When the onboarded consultant accepts their invitation (a Membership appears for them in the new
practice), their practitioner details entered at onboarding become their PractitionerProfile."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.utils import timezone

from openpractice.accounts.services import save_practitioner_profile
from openpractice.onboarding.models import Onboarding
from openpractice.practices.models import Membership


def apply_profile(sender, instance: Membership, created: bool, **kwargs) -> None:
    if not created:
        return
    waiting = Onboarding.objects.filter(
        practice_id=instance.practice_id, profile_applied_at__isnull=True, consultant_email__iexact=instance.user.email
    ).first()
    if waiting is None:
        return
    save_practitioner_profile(
        membership=instance,
        healthcode_identifier=waiting.healthcode_identifier,
        gmc_number=waiting.gmc_number,
        specialty=waiting.specialty,
        professional_title=waiting.professional_title,
    )
    waiting.profile_applied_at = timezone.now()
    waiting.save(update_fields=["profile_applied_at"])


def connect() -> None:
    post_save.connect(apply_profile, sender=Membership, dispatch_uid="onboarding_apply_profile")
