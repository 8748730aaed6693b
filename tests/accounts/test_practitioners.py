"""Practitioner profile: Healthcode identifier (digits, unique in the practice, leading-zero warning),
GMC number, specialty, professional title; page and API."""

import pytest

from openpractice.accounts.errors import AccountError
from openpractice.accounts.models import PractitionerProfile
from openpractice.accounts.services import save_practitioner_profile
from openpractice.practices.models import Membership
from openpractice.practices.roles import Role


def _membership(user, practice):
    return Membership.objects.get(user=user, practice=practice)


def test_service_saves_and_warns_for_six_digits(practitioner, practice):
    profile, warnings = save_practitioner_profile(
        membership=_membership(practitioner, practice),
        healthcode_identifier=" 0651978 ",
        gmc_number="6519780",
        specialty="Trauma and orthopaedic surgery",
        professional_title="Consultant",
    )
    assert profile.healthcode_identifier == "0651978" and warnings == []
    _, warnings = save_practitioner_profile(
        membership=_membership(practitioner, practice), healthcode_identifier="651978"
    )
    assert warnings and "looks like a GMC number without its leading zero" in warnings[0] and "0651978" in warnings[0]


@pytest.mark.parametrize(
    "value,field,message",
    [
        ("06519A8", "healthcode_identifier", "digits only"),
        ("1234", "healthcode_identifier", "5 to 10"),
    ],
)
def test_service_refuses_bad_identifier(practitioner, practice, value, field, message):
    with pytest.raises(AccountError, match=message) as exc:
        save_practitioner_profile(membership=_membership(practitioner, practice), healthcode_identifier=value)
    assert exc.value.field == field


def test_gmc_number_is_seven_digits(practitioner, practice):
    with pytest.raises(AccountError, match="7 digits") as exc:
        save_practitioner_profile(membership=_membership(practitioner, practice), gmc_number="651978")
    assert exc.value.field == "gmc_number"


def test_identifier_unique_within_practice_only(practice, other_practice, make_member):
    a = make_member(practice, Role.PRACTITIONER)
    b = make_member(practice, Role.PRACTITIONER)
    c = make_member(other_practice, Role.PRACTITIONER)
    save_practitioner_profile(membership=_membership(a, practice), healthcode_identifier="0651978")
    with pytest.raises(AccountError, match="already belongs") as exc:
        save_practitioner_profile(membership=_membership(b, practice), healthcode_identifier="0651978")
    assert exc.value.field == "healthcode_identifier"
    save_practitioner_profile(membership=_membership(c, other_practice), healthcode_identifier="0651978")


def test_page_edit_warn_and_list(owner_client, practitioner, practice):
    m = _membership(practitioner, practice)
    page = owner_client.get(f"/settings/users/{m.id}/").content.decode()
    assert 'for="id_healthcode_identifier">Healthcode identifier' in page and "GMC number" in page
    response = owner_client.post(
        f"/settings/users/{m.id}/practitioner/",
        {
            "healthcode_identifier": "651978",
            "gmc_number": "6519780",
            "specialty": "Cardiology",
            "professional_title": "Consultant Cardiologist",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "without its leading zero" in html
    listing = owner_client.get("/settings/users/").content.decode()
    assert "651978" in listing and "Cardiology" in listing and "leading zero?" in listing


def test_page_error_names_field_and_keeps_input(owner_client, practitioner, practice):
    m = _membership(practitioner, practice)
    response = owner_client.post(
        f"/settings/users/{m.id}/practitioner/",
        {"healthcode_identifier": "0651-978X", "gmc_number": "6519780", "specialty": "Cardiology"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_healthcode_identifier_error"' in html and "digits only" in html
    assert 'value="Cardiology"' in html and 'value="6519780"' in html
    assert not PractitionerProfile.objects.exists()


def test_other_practice_member_is_404(owner_client, other_owner, other_practice):
    m = _membership(other_owner, other_practice)
    assert (
        owner_client.post(f"/settings/users/{m.id}/practitioner/", {"healthcode_identifier": "0651978"}).status_code
        == 404
    )


def test_receptionist_cannot_edit(receptionist_client, practitioner, practice):
    m = _membership(practitioner, practice)
    assert (
        receptionist_client.post(
            f"/settings/users/{m.id}/practitioner/", {"healthcode_identifier": "0651978"}
        ).status_code
        == 403
    )


def test_api(client, owner, practitioner, receptionist, practice, other_owner, other_practice, api_token_for):
    m = _membership(practitioner, practice)
    headers = api_token_for(owner, practice)
    answer = client.put(
        f"/api/v1/users/{m.id}/practitioner",
        {"healthcode_identifier": "651978", "gmc_number": "6519780"},
        content_type="application/json",
        **headers,
    )
    assert answer.status_code == 200 and "leading zero" in answer.json()["warnings"][0]
    answer = client.put(
        f"/api/v1/users/{m.id}/practitioner",
        {"healthcode_identifier": "65A"},
        content_type="application/json",
        **headers,
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "healthcode_identifier"]
    assert client.get("/api/v1/practitioners", **headers).json()[0]["healthcode_identifier"] == "651978"
    other = _membership(other_owner, other_practice)
    assert client.get(f"/api/v1/users/{other.id}/practitioner", **headers).status_code == 404
    assert (
        client.put(
            f"/api/v1/users/{m.id}/practitioner",
            {"healthcode_identifier": "0651978"},
            content_type="application/json",
            **api_token_for(receptionist, practice),
        ).status_code
        == 403
    )
