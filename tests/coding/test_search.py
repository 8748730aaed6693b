"""Search: exact code, then prefix, then all words; inactive hidden; at most 20; tenancy."""

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.coding.models import Code, CodeSource
from openpractice.coding.normalise import code_key, words
from openpractice.coding.selectors import MAX_RESULTS, MatchKind, search_codes, search_words

pytestmark = pytest.mark.django_db


def codes(matches):
    return [m.code for m in matches]


def test_exact_code_first_then_prefix(practice):
    assert codes(search_codes(practice=practice, system="ccsd", query="W8500")) == ["W8500"]
    found = search_codes(practice=practice, system="ccsd", query="w85")
    assert codes(found) == ["W8500", "W8520"] and {m.match for m in found} == {MatchKind.PREFIX}


def test_words_in_any_order_as_word_prefixes(practice):
    assert codes(search_codes(practice=practice, system="ccsd", query="knee arthroscopy"))[0] == "W8520"
    assert codes(search_codes(practice=practice, system="ccsd", query="KNEE ARTHROSCOPY")) == ["W8520"]
    assert codes(search_codes(practice=practice, system="ccsd", query="arthrosc knee")) == ["W8500", "W8520"]
    assert search_codes(practice=practice, system="ccsd", query="knee banana") == []


def test_icd10_type_2_diabetes_is_e11(practice):
    found = search_codes(practice=practice, system="icd10", query="type 2 diabetes")
    assert found[0].code.startswith("E11") and all("2" in words(m.description) for m in found)
    assert codes(search_codes(practice=practice, system="icd10", query="e119")) == ["E11.9"]
    assert codes(search_codes(practice=practice, system="icd10", query="E11.9")) == ["E11.9"]


def test_inactive_hidden_unless_asked(practice):
    assert search_codes(practice=practice, system="ccsd", query="AC100") == []
    found = search_codes(practice=practice, system="ccsd", query="AC100", include_inactive=True)
    assert codes(found) == ["AC100"] and not found[0].is_active
    assert codes(search_codes(practice=practice, system="ccsd", query="AC100", on_date=date(2019, 6, 1))) == ["AC100"]


def test_at_most_twenty(practice):
    assert len(search_codes(practice=practice, system="icd10", query="a")) == MAX_RESULTS
    assert len(search_codes(practice=practice, system="icd10", query="fracture")) == MAX_RESULTS


def test_practice_codes_are_private_and_replace_the_samples(practice, other_practice, import_csv):
    import_csv(practice, "code,description", "W8500,Licensed narrative for W8500", "Q1234,Practice-only code")
    mine = search_codes(practice=practice, system="ccsd", query="W85")
    assert [(m.code, m.source) for m in mine] == [("W8500", CodeSource.IMPORT)]  # samples step aside
    assert search_codes(practice=other_practice, system="ccsd", query="Q1234") == []
    assert [m.source for m in search_codes(practice=other_practice, system="ccsd", query="W85")] == ["sample", "sample"]


def test_query_count(practice, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        search_codes(practice=practice, system="icd10", query="E11")
    with django_assert_max_num_queries(1):
        search_codes(practice=practice, system="icd10", query="type 2 diabetes")


# Property: the result order follows the rule, checked against a plain-Python reference -------

alphabet = st.sampled_from(["knee", "hip", "arthroscopy", "arthroscopic", "repair", "of", "2", "total", "joint"])
code_strategy = st.builds(lambda letter, n: f"{letter}{n:04d}", st.sampled_from("HKW"), st.integers(0, 60))


def reference_search(rows, query):
    key = code_key(query)
    exact, prefix, worded = [], [], []
    qwords = search_words(query)
    for code, description in sorted(rows, key=lambda r: code_key(r[0])):
        k = code_key(code)
        dwords = words(description)
        if key and len(query.split()) == 1 and k == key:
            exact.append(code)
        elif key and len(query.split()) == 1 and k.startswith(key):
            prefix.append(code)
        elif qwords and all(any(w == d if len(w) == 1 else d.startswith(w) for d in dwords) for w in qwords):
            worded.append(code)
    return (exact + prefix + worded)[:MAX_RESULTS]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.dictionaries(
        code_strategy, st.lists(alphabet, min_size=1, max_size=4).map(" ".join), min_size=1, max_size=30
    ),
    query=st.one_of(
        code_strategy, st.sampled_from(["W", "K00", "H001", "knee", "arthro", "hip 2", "of knee", "total joint rep"])
    ),
)
def test_search_follows_the_ordering_rule(practice, import_csv, rows, query):
    Code.objects.filter(practice=practice).delete()
    import_csv(practice, "code,description", *[f"{c},{d}" for c, d in rows.items()], system="isc")
    assert codes(search_codes(practice=practice, system="isc", query=query)) == reference_search(rows.items(), query)


@pytest.mark.parametrize("query", ["knee", "arthro knee", "type 2 diabetes", "fracture femur", "e11", "of", "2"])
def test_sqlite_plans_agree(practice, import_csv, monkeypatch, query):
    """On SQLite a common word is searched by walking the codes (instr on search_words), a rarer one
    through FTS5: both give the same answer."""
    from openpractice.coding import search_index

    import_csv(
        practice,
        "code,description",
        "W8500,Multiple arthroscopic operations on knee",
        "W8520,Arthroscopy of knee joint",
        "Q1234,Type 2 knee thing",
    )
    results = {}
    for threshold in (0, 10**9):  # 0: every word counts as common; 10**9: as rare
        monkeypatch.setattr(search_index, "SQLITE_DENSE_MATCHES", threshold)
        results[threshold] = [
            (m.code, m.match) for s in ("ccsd", "icd10") for m in search_codes(practice=practice, system=s, query=query)
        ]
    assert results[0] == results[10**9]


def test_full_text_index_is_installed_after_all_migrations(db):
    """A later migration that rebuilds coding_code on SQLite would silently drop the triggers
    that keep the full-text table in step; this catches it."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='coding_code'")
            assert {row[0] for row in cursor.fetchall()} >= {
                "coding_code_fts_insert",
                "coding_code_fts_delete",
                "coding_code_fts_update",
            }
        else:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename='coding_code'")
            assert "coding_code_search_vector" in {row[0] for row in cursor.fetchall()}
