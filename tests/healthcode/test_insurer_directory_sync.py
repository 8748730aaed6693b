"""The insurer directory synced from the clearing house's insurer list (healthcode/directory.py,
coding.services.apply_clearing_house_directory): identifiers filled, insurers added, an
identifier set by hand kept and reported, a bad reply changing nothing; the page's button and
the "no Healthcode identifier yet — set it" links that lead straight to the field."""

import datetime as dt
import json

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from openpractice.coding.models import IdentifierSource, Insurer
from openpractice.coding.selectors import find_insurer, insurers_for_practice
from openpractice.coding.services import DirectoryEntry, apply_clearing_house_directory, save_insurer
from openpractice.contacts.services import create_contact
from openpractice.healthcode import directory
from openpractice.healthcode.client import HealthcodeClient
from openpractice.healthcode.directory import DirectoryReplyError, sync_due_directories, sync_insurer_directory
from openpractice.healthcode.models import HealthcodeIntegration

NOT_PUBLIC = {
    "Alliance Health": "alh",
    "Allianz Partners": "alz",
    "Healix Health Services": "hlx",
    "Willis Towers Watson": "wtw",
}


def _published(name):
    return Insurer.objects.get(practice__isnull=True, name=name)


def _seen(practice, name):
    return insurers_for_practice(practice=practice, include_inactive=True).get(name=name)


def _directory(practice):
    return {
        (i.name, i.healthcode_identifier, i.identifier_source)
        for i in insurers_for_practice(practice=practice, include_inactive=True)
    }


@pytest.fixture
def alliance_contact(demo):
    return create_contact(
        practice=demo,
        data={"contact_type": "insurer", "name": "Alliance Health", "insurer": _published("Alliance Health")},
    )


def test_the_sync_fills_the_identifiers_healthcode_does_not_publish(demo, alliance_contact):
    assert all(_seen(demo, name).healthcode_identifier == "" for name in NOT_PUBLIC)

    outcome = sync_insurer_directory(practice=demo)

    assert sorted(outcome.filled) == sorted(NOT_PUBLIC) and outcome.added == [] and outcome.kept == []
    assert outcome.summary.startswith("0 added, 4 identifiers filled.")
    for name, identifier in NOT_PUBLIC.items():
        entry = _seen(demo, name)
        assert (entry.healthcode_identifier, entry.identifier_source) == (identifier, IdentifierSource.CLEARING_HOUSE)
        assert entry.practice_id == demo.pk and entry.based_on == _published(name)  # the practice's own version
        assert _published(name).healthcode_identifier == ""  # other practices keep the shipped entry
    # The contact names the entry the practice now sees, so its bills carry the identifier.
    alliance_contact.refresh_from_db()
    assert alliance_contact.insurer.healthcode_identifier == "alh"
    assert _seen(demo, "Bupa").identifier_source == IdentifierSource.SHIPPED
    integration = HealthcodeIntegration.objects.get(practice=demo)
    assert integration.directory_synced_at is not None and "4 identifiers filled" in integration.directory_sync_outcome

    again = sync_insurer_directory(practice=demo)  # idempotent
    assert (again.added, again.filled, again.corrected) == ([], [], [])


def test_an_identifier_set_by_hand_is_kept_and_the_sync_says_so(demo, owner_of_demo):
    save_insurer(
        practice=demo,
        user=owner_of_demo,
        insurer=_published("Alliance Health"),
        data={"name": "Alliance Health", "healthcode_identifier": "ALH9", "member_check": "format"},
    )
    mine = _seen(demo, "Alliance Health")
    assert (mine.healthcode_identifier, mine.identifier_source) == ("alh9", IdentifierSource.MANUAL)

    outcome = sync_insurer_directory(practice=demo)

    assert outcome.kept == [("Alliance Health", "alh9", "alh")]
    assert "Alliance Health: kept the identifier alh9 set by hand" in outcome.summary
    assert _seen(demo, "Alliance Health").healthcode_identifier == "alh9"
    assert _seen(demo, "Allianz Partners").healthcode_identifier == "alz"  # the rest still filled


def _reply(body, status=200):
    text = body if isinstance(body, str) else json.dumps(body)
    return lambda self, **kwargs: httpx.Response(status, text=text, headers={"Content-Type": "application/fhir+json"})


def _bundle(*organizations):
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(organizations),
        "entry": [{"resource": o} for o in organizations],
    }


def _org(identifier, name, **extra):
    return {
        "resourceType": "Organization",
        "identifier": [{"system": directory.INSURER_SYSTEM, "value": identifier}],
        "name": name,
        **extra,
    }


@pytest.mark.parametrize(
    "reply, says",
    [
        (_reply("<html>Service unavailable</html>"), "not JSON"),
        (_reply({"resourceType": "OperationOutcome"}), "Expected a Bundle"),
        (_reply(_bundle(), status=503), "HTTP 503"),
        (_reply(_bundle(_org("alh", "Alliance Health"), _org("", "Nameless Mutual"))), "has no identifier"),
        (_reply(_bundle(_org("alh", "Alliance Health"), _org("zzz", ""))), "has no name"),
        (_reply(_bundle(_org("alh", "Alliance Health"), _org("NOT VALID!", "Odd Insurer"))), "not a Healthcode"),
        (_reply(_bundle(_org("alh", "Alliance Health"), _org("alh", "Alliance Again"))), "twice"),
    ],
)
def test_a_bad_reply_changes_nothing_and_says_why(demo, alliance_contact, monkeypatch, reply, says):
    before = _directory(demo)
    monkeypatch.setattr(HealthcodeClient, "list_insurers", reply)

    with pytest.raises(DirectoryReplyError) as refused:
        sync_insurer_directory(practice=demo)

    assert "nothing was changed" in refused.value.message and says in refused.value.message
    assert _directory(demo) == before
    alliance_contact.refresh_from_db()
    assert alliance_contact.insurer == _published("Alliance Health")
    assert HealthcodeIntegration.objects.get(practice=demo).directory_synced_at is None


def test_unknown_fields_are_tolerated_and_new_insurers_added(demo, monkeypatch):
    listed = _bundle(
        _org(
            "alh",
            "Alliance Health",
            extension=[{"url": "https://example.org/something-new", "valueString": "x"}],
            brandNewField={"nested": [1, 2]},
        ),
        _org(
            "frd",
            "Freedom Health Insurance",
            extension=[{"url": f"{directory.answers.EXT}member-check", "valueCode": "database"}],
        ),
        _org("old", "Closed Insurer", active=False),
        {"resourceType": "Practitioner", "id": "ignored"},
    )
    monkeypatch.setattr(HealthcodeClient, "list_insurers", _reply(listed))

    outcome = sync_insurer_directory(practice=demo)

    assert outcome.added == ["Freedom Health Insurance"] and outcome.filled == ["Alliance Health"]
    added = find_insurer(practice=demo, healthcode_identifier="frd")
    assert (added.practice, added.member_check, added.identifier_source) == (demo, "database", "clearing_house")
    assert "dateOfBirth" in added.find_member_fields
    assert find_insurer(practice=demo, healthcode_identifier="old") is None


def test_a_shipped_identifier_the_clearing_house_lists_differently_is_corrected(demo):
    outcome = apply_clearing_house_directory(practice=demo, entries=[DirectoryEntry("wpa2", "WPA")])
    assert outcome.corrected == [("WPA", "wpa", "wpa2")]
    assert _seen(demo, "WPA").healthcode_identifier == "wpa2"


def test_the_schedule_syncs_each_practice_once_a_day(demo):
    assert sync_due_directories() == {"directories synced": 1, "directories not synced": 0}
    assert sync_due_directories() == {"directories synced": 0, "directories not synced": 0}
    tomorrow = timezone.now() + dt.timedelta(hours=25)
    assert sync_due_directories(now=tomorrow)["directories synced"] == 1


# -- the pages ------------------------------------------------------------------------------------
@pytest.fixture
def owner_of_demo(demo):
    from openpractice.accounts.models import User

    return User.objects.get(email="owner@demo.openpractice.test")


@pytest.fixture
def demo_client(client_for):
    from openpractice.accounts.models import User

    return lambda email: client_for(User.objects.get(email=email))


def test_the_directory_page_speaks_plainly_and_offers_the_sync(demo, demo_client):
    page = demo_client("owner@demo.openpractice.test").get(reverse("coding:insurers")).content.decode()
    assert "Sync from Healthcode" in page
    assert "No Healthcode identifier yet" in page and "set it</a>" in page
    assert "( )" not in page and "()" not in page
    for camel in ("firstName", "lastName", "dateOfBirth", "postCode", "membershipNumber"):
        assert camel not in page
    assert "Date of birth" in page and "Registration number" in page
    alliance = _published("Alliance Health")
    assert f"{reverse('coding:insurer_edit', args=[alliance.pk])}?focus=identifier" in page


def test_the_sync_button_posts_and_shows_the_result(demo, demo_client):
    owner = demo_client("owner@demo.openpractice.test")
    assert owner.get(reverse("healthcode:sync_insurer_directory")).status_code == 405  # GET never writes
    response = owner.post(reverse("healthcode:sync_insurer_directory"), follow=True)
    assert "Synced from Healthcode: 0 added, 4 identifiers filled." in response.content.decode()
    assert _seen(demo, "Willis Towers Watson").healthcode_identifier == "wtw"
    biller = demo_client("billing@demo.openpractice.test")
    assert biller.post(reverse("healthcode:sync_insurer_directory")).status_code == 403


def test_the_sync_button_on_a_bad_reply_says_nothing_changed(demo, demo_client, monkeypatch):
    monkeypatch.setattr(HealthcodeClient, "list_insurers", _reply("not json"))
    response = demo_client("owner@demo.openpractice.test").post(
        reverse("healthcode:sync_insurer_directory"), follow=True
    )
    assert "nothing was changed" in response.content.decode()


def test_setting_the_identifier_by_hand_from_the_link_returns_to_the_invoice(demo, demo_client, alliance_contact):
    owner = demo_client("owner@demo.openpractice.test")
    alliance = _published("Alliance Health")
    url = reverse("coding:insurer_edit", args=[alliance.pk])
    form = owner.get(url, {"focus": "identifier", "next": "/invoices/1/"}).content.decode()
    assert 'name="healthcode_identifier"' in form and "autofocus" in form
    assert 'name="next" value="/invoices/1/"' in form
    refused = owner.post(url, {"name": "Alliance Health", "healthcode_identifier": "al h!", "member_check": "format"})
    assert "lower case, 2 to 10 letters or digits" in refused.content.decode()
    saved = owner.post(
        url,
        {"name": "Alliance Health", "healthcode_identifier": "alh", "member_check": "format", "next": "/invoices/1/"},
    )
    assert saved.status_code == 302 and saved["Location"] == "/invoices/1/"
    alliance_contact.refresh_from_db()
    assert alliance_contact.insurer.healthcode_identifier == "alh"
    assert alliance_contact.insurer.identifier_source == IdentifierSource.MANUAL
    assert owner.get(url).status_code == 404  # the practice sees its own version now, at its own address
    offsite = owner.post(
        reverse("coding:insurer_edit", args=[alliance_contact.insurer_id]),
        {
            "name": "Alliance Health",
            "healthcode_identifier": "alh",
            "member_check": "format",
            "next": "https://evil.example/",
        },
    )
    assert offsite["Location"] == reverse("coding:insurers")


def _alliance_invoice(demo, alliance_contact):
    from openpractice.billing import services as billing
    from openpractice.patients import services as patients
    from openpractice.practices.models import Membership
    from openpractice.products.models import Product

    patient = patients.create_patient(
        practice=demo,
        data={
            "first_name": "Ada",
            "last_name": "Alliance",
            "sex": "female",
            "date_of_birth": dt.date(1980, 1, 2),
            "postcode": "SW1A 1AA",
        },
    )
    insurance = patients.add_relationship(
        patient=patient,
        data={"relationship_type": "insurance", "related_contact": alliance_contact, "registration_number": "1234567"},
    )
    return billing.create_invoice(
        practice=demo,
        data={
            "bill_to": "insurer",
            "patient": patient,
            "insurance": insurance,
            "practitioner": Membership.objects.get(practice=demo, user__email__startswith="dr.patel"),
            "invoice_date": dt.date.today(),
            "service_setting": "outpatient",
            "primary_diagnosis": "M17.1",
        },
        lines=[
            {"product": Product.objects.filter(practice=demo).first(), "service_date": dt.date.today(), "quantity": 1}
        ],
    )


def test_the_invoice_links_straight_to_the_identifier_field_or_says_who_can(demo, demo_client, alliance_contact):
    invoice = _alliance_invoice(demo, alliance_contact)
    detail = reverse("billing:detail", args=[invoice.pk])
    owner_page = demo_client("owner@demo.openpractice.test").get(detail).content.decode()
    assert "has no Healthcode identifier (Insurance) yet" in owner_page
    edit = reverse("coding:insurer_edit", args=[_published("Alliance Health").pk])
    assert f'href="{edit}?focus=identifier&amp;next=' in owner_page
    assert "#id_healthcode_identifier" in owner_page
    assert reverse("contacts:edit", args=[alliance_contact.pk]) not in owner_page  # not the type-ahead again
    assert "( )" not in owner_page and "(<code></code>)" not in owner_page

    biller_page = demo_client("billing@demo.openpractice.test").get(detail).content.decode()
    assert "A practice owner or administrator can set it" in biller_page
    assert f"{edit}?focus=identifier" not in biller_page

    not_ready = demo_client("owner@demo.openpractice.test").get(reverse("billing:list"), {"view": "not_ready"})
    assert f"{edit}?focus=identifier" in not_ready.content.decode()


def test_contact_and_patient_pages_say_where_to_set_it(demo, demo_client, alliance_contact):
    invoice = _alliance_invoice(demo, alliance_contact)
    owner = demo_client("owner@demo.openpractice.test")
    for url in (
        reverse("contacts:detail", args=[alliance_contact.pk]),
        reverse("contacts:list"),
        reverse("patients:detail", args=[invoice.patient_id]),
    ):
        page = owner.get(url).content.decode()
        assert "No Healthcode identifier yet" in page, url
        assert "not public" not in page and "( )" not in page, url
    options = owner.get(reverse("coding:insurer_options"), {"q": "alliance"}).content.decode()
    assert "No Healthcode identifier yet" in options and "—" not in options


def test_an_allianz_partners_member_with_a_w_number_has_aetnas_authorisation_rule(practice):
    from openpractice.patients import services as patients
    from openpractice.patients.errors import PatientError

    allianz = create_contact(
        practice=practice,
        data={"contact_type": "insurer", "name": "Allianz Partners", "insurer": _published("Allianz Partners")},
    )
    patient = patients.create_patient(
        practice=practice,
        data={
            "first_name": "Walter",
            "last_name": "Aetnason",
            "sex": "male",
            "date_of_birth": dt.date(1975, 5, 5),
            "postcode": "SW1A 1AA",
        },
    )

    def insure(number, code):
        return patients.add_relationship(
            patient=patient,
            data={
                "relationship_type": "insurance",
                "related_contact": allianz,
                "registration_number": number,
                "authorisation_code": code,
            },
        )

    with pytest.raises(PatientError, match="C \\+ 6 to 10 digits") as refused:
        insure("W1234 123456-01", "AUTH-1")
    assert refused.value.field == "authorisation_code"
    assert insure("w1234  123456-01", "c1234567").registration_number == "W1234 123456-01"
    assert insure("P123456", "AUTH-1").authorisation_code == "AUTH-1"  # a P member: Allianz's free format
