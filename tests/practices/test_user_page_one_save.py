"""Settings > Users > a user: one Save for the role AND the practitioner details, validated
together and saved together or not at all; "saved" only when everything typed was saved."""

import pytest

from openpractice.accounts.errors import AccountError
from openpractice.accounts.models import PractitionerProfile
from openpractice.accounts.services import save_practitioner_profile
from openpractice.practices import services
from openpractice.practices.models import Membership
from openpractice.practices.roles import Role


def _membership(user, practice):
    return Membership.objects.get(user=user, practice=practice)


# -- service ----------------------------------------------------------------------------------
def test_save_member_saves_role_and_identifier_together(practitioner, owner, practice):
    m = _membership(practitioner, practice)
    saved, warnings = services.save_member(
        membership=m,
        role=Role.BILLING,
        is_active=True,
        practitioner={"healthcode_identifier": "0651978", "specialty": "Cardiology"},
        changed_by=owner,
    )
    assert saved.role == Role.BILLING and warnings == []
    assert PractitionerProfile.objects.get(membership=m).healthcode_identifier == "0651978"


def test_refused_identifier_leaves_the_role_as_it_was(practitioner, owner, practice, make_member):
    other = make_member(practice, Role.PRACTITIONER, email="taken@example.test")
    save_practitioner_profile(membership=_membership(other, practice), healthcode_identifier="0651978")
    m = _membership(practitioner, practice)
    with pytest.raises(AccountError) as exc:
        services.save_member(
            membership=m,
            role=Role.BILLING,
            is_active=True,
            practitioner={"healthcode_identifier": "0651978"},
            changed_by=owner,
        )
    assert exc.value.field == "healthcode_identifier"
    m.refresh_from_db()
    assert m.role == Role.PRACTITIONER  # all or nothing
    assert not PractitionerProfile.objects.filter(membership=m).exists()


def test_nothing_typed_makes_no_practitioner(receptionist, owner, practice):
    # A profile is what lists someone as a practitioner on the invoice form.
    m = _membership(receptionist, practice)
    services.save_member(
        membership=m, role=Role.RECEPTIONIST, is_active=True, practitioner={"specialty": "  "}, changed_by=owner
    )
    assert not PractitionerProfile.objects.filter(membership=m).exists()


# -- page -------------------------------------------------------------------------------------
def test_one_save_keeps_the_identifier_typed_below_the_role(owner_client, practitioner, practice):
    m = _membership(practitioner, practice)
    page = owner_client.get(f"/settings/users/{m.id}/").content.decode()
    assert page.count("<form") == page.count('action="/accounts/logout/"') + 1  # one form, plus log out
    assert "data-unsaved=" in page
    response = owner_client.post(
        f"/settings/users/{m.id}/",
        {"role": "practitioner", "is_active": "on", "healthcode_identifier": "0651978", "gmc_number": "6519780"},
        follow=True,
    )
    assert "saved." in response.content.decode()
    profile = PractitionerProfile.objects.get(membership=m)
    assert (profile.healthcode_identifier, profile.gmc_number) == ("0651978", "6519780")


def test_a_refused_field_saves_nothing_and_names_the_field(owner_client, practitioner, practice):
    m = _membership(practitioner, practice)
    response = owner_client.post(
        f"/settings/users/{m.id}/",
        {"role": "billing", "is_active": "on", "healthcode_identifier": "06519X", "specialty": "Cardiology"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved. Correct Healthcode identifier below" in html
    assert 'id="id_healthcode_identifier_error"' in html
    assert 'value="Cardiology"' in html and 'value="06519X"' in html
    assert "data-unsaved-dirty" in html  # the guard counts what was typed as not saved
    assert "flash-success" not in html
    m.refresh_from_db()
    assert m.role == Role.PRACTITIONER and not PractitionerProfile.objects.exists()


def test_service_refusal_after_the_role_passed_names_the_field(owner_client, owner, practitioner, practice):
    # The role is valid and would save; the identifier clashes only at the service: still nothing saved.
    save_practitioner_profile(membership=_membership(owner, practice), healthcode_identifier="0651978")
    m = _membership(practitioner, practice)
    response = owner_client.post(
        f"/settings/users/{m.id}/", {"role": "billing", "is_active": "on", "healthcode_identifier": "0651978"}
    )
    html = response.content.decode()
    assert "already belongs to another practitioner" in html and "Correct Healthcode identifier" in html
    m.refresh_from_db()
    assert m.role == Role.PRACTITIONER


def test_practitioner_link_leads_to_the_field(owner_client, practitioner, practice):
    # Where "has no Healthcode identifier" links (healthcode's invoice panel): a page, not a 405.
    m = _membership(practitioner, practice)
    response = owner_client.get(f"/settings/users/{m.id}/practitioner/")
    assert response.status_code == 302
    assert response["Location"] == f"/settings/users/{m.id}/#id_healthcode_identifier"
