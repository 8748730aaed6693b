"""Settings > Read log, its CSV and /api/v1/audit/reads: the owner sees their own practice's reads,
filtered and keyset paged newest first; nobody else does."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from openpractice.audit.models import ReadEvent
from openpractice.csv_export import neutralise
from openpractice.practices.roles import Capability, Role, role_can


def _seed_events(practice, user, count, *, kind="patient", object_type="patient", object_id=1, at=None):
    ReadEvent.objects.bulk_create(
        [
            ReadEvent(
                practice=practice,
                user=user,
                kind=kind,
                object_type=object_type,
                object_id=object_id,
                label=f"/patients/{object_id}/",
                via="page",
                at=at or timezone.now(),
            )
            for _ in range(count)
        ]
    )


def _csv_rows(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_only_owner_and_admin_may_see_the_log():
    assert role_can(Role.OWNER, Capability.VIEW_AUDIT) and role_can(Role.ADMIN, Capability.VIEW_AUDIT)
    for role in (Role.BILLING, Role.PRACTITIONER, Role.RECEPTIONIST):
        assert not role_can(role, Capability.VIEW_AUDIT)


def test_owner_sees_who_opened_which_record(clinic, clinic_owner, clinic_reception, browser_for, patient):
    browser_for(clinic_reception).get(f"/patients/{patient.pk}/")
    page = browser_for(clinic_owner).get("/settings/read-log/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Rita Reception" in html and "Oliver Bennett" in html and "Patient record" in html
    assert f"?object_type=patient&amp;object_id={patient.pk}" in html
    assert 'aria-current="page">Read log<' in html


def test_empty_log_says_so(clinic, clinic_owner, browser_for):
    assert "No reads logged yet" in browser_for(clinic_owner).get("/settings/read-log/").content.decode()


def test_non_owner_roles_get_403(clinic, clinic_biller, clinic_reception, browser_for, client, api_token_for):
    for user in (clinic_biller, clinic_reception):
        assert browser_for(user).get("/settings/read-log/").status_code == 403
        assert browser_for(user).get("/settings/read-log/?format=csv").status_code == 403
        assert client.get("/api/v1/audit/reads", **api_token_for(user, clinic)).status_code == 403
    assert "Read log" not in browser_for(clinic_biller).get("/settings/practice/").content.decode()


def test_another_practices_owner_never_sees_them(
    clinic, clinic_reception, browser_for, patient, client, make_practice, make_member, api_token_for
):
    browser_for(clinic_reception).get(f"/patients/{patient.pk}/")
    assert ReadEvent.objects.count() == 1
    elsewhere = make_practice("Elsewhere Clinic")
    their_owner = make_member(elsewhere, Role.OWNER, email="owner@elsewhere.test")
    theirs = browser_for(their_owner)
    html = theirs.get("/settings/read-log/").content.decode()
    assert "No reads logged yet" in html and "Rita Reception" not in html
    html = theirs.get(f"/settings/read-log/?object_type=patient&object_id={patient.pk}").content.decode()
    assert "Rita Reception" not in html
    rows = _csv_rows(theirs.get("/settings/read-log/?format=csv"))
    # Only their own export of the log (written as the download starts, so it lists itself).
    assert [(r[2], r[4]) for r in rows[1:]] == [("owner@elsewhere.test", "read_log")]
    answer = client.get("/api/v1/audit/reads", **api_token_for(their_owner, elsewhere)).json()
    assert [r["user_email"] for r in answer["results"]] == ["owner@elsewhere.test"]
    assert ReadEvent.objects.filter(practice=clinic).count() == 1


def test_filters_by_user_kind_dates_and_record(
    clinic, clinic_owner, clinic_biller, clinic_reception, browser_for, patient, invoice
):
    browser_for(clinic_reception).get(f"/patients/{patient.pk}/")
    browser_for(clinic_biller).get(f"/invoices/{invoice.pk}/")
    browser_for(clinic_biller).get(f"/invoices/{invoice.pk}/pdf/")
    old = timezone.now() - dt.timedelta(days=40)
    _seed_events(clinic, clinic_biller, 1, object_id=patient.pk, at=old)
    owner = browser_for(clinic_owner)

    def rows(query):
        response = owner.get(f"/settings/read-log/?{query}")
        assert response.status_code == 200
        return response.content.decode().count('<td class="nowrap">')

    assert rows("") == 4
    assert rows(f"user={clinic_biller.pk}") == 3
    assert rows("kind=invoice_pdf") == 1
    assert rows(f"object_type=invoice&object_id={invoice.pk}") == 2
    assert rows(f"object_type=patient&object_id={patient.pk}") == 2
    today = timezone.localdate().isoformat()
    assert rows(f"start={today}&end={today}") == 3
    assert rows(f"end={(timezone.localdate() - dt.timedelta(days=30)).isoformat()}") == 1


def test_bad_filters_are_named_and_kept(clinic, clinic_owner, browser_for):
    response = browser_for(clinic_owner).get(
        "/settings/read-log/?start=2026-05-02&end=2026-05-01&kind=nonsense&object_id=7"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_end_error"' in html and 'id="id_kind_error"' in html and 'id="id_object_type_error"' in html
    assert 'value="2026-05-02"' in html and "Check the filters" in html


def test_keyset_paging_newest_first(clinic, clinic_owner, clinic_reception, browser_for):
    _seed_events(clinic, clinic_reception, 120)
    ids = list(ReadEvent.objects.filter(practice=clinic).order_by("-id").values_list("id", flat=True))
    owner = browser_for(clinic_owner)
    first = owner.get("/settings/read-log/")
    assert first.context["page"].events[0].id == ids[0] and len(first.context["page"].events) == 50
    cursor = first.context["page"].next_cursor
    assert f"before={cursor}" in first.content.decode()
    second = owner.get(f"/settings/read-log/?before={cursor}")
    assert [e.id for e in second.context["page"].events] == ids[50:100]
    third = owner.get(f"/settings/read-log/?before={second.context['page'].next_cursor}")
    assert [e.id for e in third.context["page"].events] == ids[100:] and third.context["page"].next_cursor is None
    back = owner.get(f"/settings/read-log/?after={third.context['page'].prev_cursor}")
    assert [e.id for e in back.context["page"].events] == ids[50:100]


def test_csv_export_is_neutralised_and_itself_logged(clinic, clinic_owner, clinic_reception, browser_for, patient):
    clinic_reception.full_name = '=HYPERLINK("http://evil.test")'
    clinic_reception.save()
    browser_for(clinic_reception).get(f"/patients/{patient.pk}/")
    response = browser_for(clinic_owner).get("/settings/read-log/?format=csv&kind=patient")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv_rows(response)
    assert rows[0][:3] == ["When", "User", "Email"]
    assert rows[1][1] == '\'=HYPERLINK("http://evil.test")'
    assert rows[1][2] == clinic_reception.email and rows[1][6] == "Oliver Bennett"
    export = ReadEvent.objects.filter(practice=clinic).order_by("-id").first()
    assert (export.user, export.kind, export.object_type, export.via) == (clinic_owner, "export", "read_log", "export")
    assert export.label == "/settings/read-log/?format=csv&kind=patient"


@given(st.text(max_size=40))
def test_read_log_cells_never_start_a_formula(text):
    cell = neutralise(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell == text or (cell == "'" + text and text[:1] in "=+-@\t\r")


def test_api_lists_filters_and_pages(
    client, clinic, clinic_owner, clinic_reception, clinic_biller, patient, invoice, browser_for, api_token_for
):
    browser_for(clinic_reception).get(f"/patients/{patient.pk}/")
    _seed_events(clinic, clinic_biller, 3, kind="invoice", object_type="invoice", object_id=invoice.pk)
    headers = api_token_for(clinic_owner, clinic)
    answer = client.get("/api/v1/audit/reads?limit=2", **headers)
    assert answer.status_code == 200
    body = answer.json()
    assert [r["kind"] for r in body["results"]] == ["invoice", "invoice"] and body["next_cursor"]
    rest = client.get(f"/api/v1/audit/reads?limit=2&before={body['next_cursor']}", **headers).json()
    assert [r["kind"] for r in rest["results"]] == ["invoice", "patient"] and rest["next_cursor"] is None
    assert rest["results"][1]["record"] == "Oliver Bennett"
    assert rest["results"][1]["user_email"] == clinic_reception.email
    only = client.get(f"/api/v1/audit/reads?user_id={clinic_reception.pk}", **headers).json()["results"]
    assert len(only) == 1 and only[0]["object_id"] == patient.pk and only[0]["via"] == "page"
    by_record = client.get(f"/api/v1/audit/reads?object_type=invoice&object_id={invoice.pk}", **headers).json()
    assert len(by_record["results"]) == 3


def test_api_bad_filters_get_422_naming_the_field(client, clinic, clinic_owner, api_token_for):
    headers = api_token_for(clinic_owner, clinic)
    bad_kind = client.get("/api/v1/audit/reads?kind=nonsense", **headers)
    assert bad_kind.status_code == 422 and bad_kind.json()["detail"][0]["loc"][-1] == "kind"
    backwards = client.get("/api/v1/audit/reads?start=2026-05-02&end=2026-05-01", **headers)
    assert backwards.status_code == 422 and backwards.json()["detail"][0]["loc"][-1] == "end"
    no_type = client.get("/api/v1/audit/reads?object_id=3", **headers)
    assert no_type.status_code == 422 and no_type.json()["detail"][0]["loc"][-1] == "object_type"
