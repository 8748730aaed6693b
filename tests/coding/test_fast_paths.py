"""The fast paths behind the coding benchmarks (import and type-ahead) give the same answers as
the plain ones they replaced, on SQLite and PostgreSQL."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openpractice.coding import services
from openpractice.coding.models import Code
from openpractice.coding.normalise import WORD, fold
from openpractice.coding.search_index import MAX_WORD, STOPWORDS, search_text
from openpractice.coding.selectors import search_codes
from openpractice.practices.selectors import active_memberships, current_membership

pytestmark = pytest.mark.django_db


def plain_search_text(description):
    return " ".join(dict.fromkeys(w[:MAX_WORD] for w in WORD.findall(fold(description).lower()) if w not in STOPWORDS))


@pytest.mark.parametrize(
    "text",
    [
        "Multiple arthroscopic operations on knee",
        "the knee and the hip",
        "Knee KNEE knee-joint",
        "Ménière's disease",
        "x" * 60 + " y",
        "",
        "a an of",
        "Type 2 diabetes, type 2",
        "tab\there back\\slash",
    ],
)
def test_search_text_fast_path_is_the_plain_rule(text):
    assert search_text(text) == plain_search_text(text)


def test_typeahead_request_makes_four_queries(owner_client):
    """Session, user, membership with its practice, the search: no more (CaptureQueriesContext)."""
    url = reverse("coding:code_options")
    owner_client.get(url, {"system": "ccsd", "q": "W85"})  # first request of the session
    for query in ["W8500", "knee", "arthroscopic knee", "zzqx"]:
        with CaptureQueriesContext(connection) as captured:
            response = owner_client.get(url, {"system": "ccsd", "q": query})
        assert response.status_code == 200
        assert len(captured.captured_queries) == 4, [q["sql"][:80] for q in captured.captured_queries]


def test_current_membership_query_matches_the_orm_rule(practice, other_practice, make_member):
    from openpractice.practices.models import Membership

    user = make_member(practice, email="two@example.test")
    make_member(other_practice, role="billing", email="two@example.test")
    orm = list(active_memberships(user=user))
    for chosen in [None, practice.pk, other_practice.pk, 999999]:
        found = current_membership(user=user, practice_id=chosen)
        expected = next((m for m in orm if m.practice_id == chosen), orm[0])
        assert (found.pk, found.practice.pk, found.practice.name, found.role, found.created_at) == (
            expected.pk,
            expected.practice.pk,
            expected.practice.name,
            expected.role,
            expected.created_at,
        )
    Membership.objects.filter(user=user).update(is_active=False)
    assert current_membership(user=user, practice_id=practice.pk) is None


def test_inactive_user_is_logged_out(owner_client, owner):
    url = reverse("coding:code_options")
    assert owner_client.get(url, {"system": "ccsd", "q": "W85"}).status_code == 200
    type(owner).objects.filter(pk=owner.pk).update(is_active=False)
    assert owner_client.get(url, {"system": "ccsd", "q": "W85"}).status_code == 302  # to the login page


def test_bulk_import_path_stores_what_the_row_path_stores(practice, other_practice, import_csv, monkeypatch):
    """The bulk path (COPY in chunks, GIN merged once, ANALYZE on PostgreSQL; trigger dropped and
    FTS filled in one statement on SQLite) against the small-import path, same file."""
    lines = ["code,description,active from,active to"] + [
        f'W{n:04d},"{"Ménière" if n % 3 == 0 else "Knee"} repair, part {n} of the\ttab back\\slash",2015-01-01,'
        f"{'2030-12-31' if n % 2 else ''}"
        for n in range(23)
    ]
    monkeypatch.setattr(services, "COPY_CHUNK", 4)  # several chunks, one of them short
    monkeypatch.setattr(services, "BULK_ROWS", 5)
    bulk = import_csv(practice, *lines)
    monkeypatch.setattr(services, "BULK_ROWS", 10**9)
    small = import_csv(other_practice, *lines)
    assert bulk.added == small.added == 23

    def stored(p):
        return [
            (c.code, c.code_key, c.description, c.search_words, c.active_from, c.active_to, c.source, c.note)
            for c in Code.objects.filter(practice=p).order_by("code_key")
        ]

    assert stored(practice) == stored(other_practice)
    first = Code.objects.get(practice=practice, code_key="W0000")
    assert first.description == "Ménière repair, part 0 of the tab back\\slash"
    assert first.search_words == search_text(first.description) and first.active_to is None
    assert Code.objects.get(practice=practice, code_key="W0001").active_to == dt.date(2030, 12, 31)
    for p in (practice, other_practice):
        assert [m.code for m in search_codes(practice=p, system="ccsd", query="meniere repa")][:2] == ["W0000", "W0003"]
        assert [m.code for m in search_codes(practice=p, system="ccsd", query="slash 22")] == ["W0022"]
    again = import_csv(practice, *lines)
    assert again.added == again.changed == again.retired == 0


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_bulk_import_restores_the_pending_list_limit(practice, import_csv, monkeypatch):
    monkeypatch.setattr(services, "BULK_ROWS", 5)
    import_csv(practice, "code,description", *[f"K{n:04d},knee part {n}" for n in range(40)])
    with connection.cursor() as cursor:
        cursor.execute("SHOW gin_pending_list_limit")
        assert cursor.fetchone()[0] == "4MB"  # the raised limit was local to the import


def test_deleting_a_practice_deletes_its_codes(practice, import_csv):
    """Code.practice has no database constraint (migration 0005): Django's CASCADE does it."""
    import_csv(practice, "code,description", "W8500,Knee")
    assert Code.objects.filter(practice=practice).count() == 1
    pk = practice.pk
    practice.delete()
    assert not Code.objects.filter(practice_id=pk).exists()
