"""Imports: good files, idempotency, all-or-nothing with problems named by row, accepted lists."""

import os
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.coding import selectors
from openpractice.coding.importing import CodeFileError
from openpractice.coding.models import AcceptedCode, Code

from .conftest import csv_bytes

pytestmark = pytest.mark.django_db

GOOD = [
    "CCSD Code,Narrative,Valid From,Valid To",
    "W8500,Multiple arthroscopic operations on knee,2015-01-01,",
    "c7520,Phacoemulsification of lens with implant,,",
    "AC100,Local anaesthetic by main operator,01/01/2010,31/12/2019",
]


def snapshot(practice):
    return (
        list(
            Code.objects.filter(practice=practice)
            .order_by("code_key")
            .values_list("code", "description", "search_words", "active_from", "active_to", "updated_at")
        ),
        list(
            AcceptedCode.objects.filter(practice=practice)
            .order_by("code_key")
            .values_list("code", "max_fee", "active_from", "active_to")
        ),
    )


def test_good_file_with_aliases_then_again_changes_nothing(practice, import_csv):
    first = import_csv(practice, *GOOD)
    assert (first.added, first.changed, first.retired) == (3, 0, 0)
    code = Code.objects.get(practice=practice, code_key="C7520")
    assert code.code == "C7520" and code.source == "import"
    assert Code.objects.get(practice=practice, code_key="AC100").active_to == date(2019, 12, 31)
    before = snapshot(practice)
    second = import_csv(practice, *GOOD)
    assert (second.added, second.changed, second.retired, second.unchanged) == (0, 0, 0, 3)
    assert snapshot(practice) == before


def test_changed_and_retired(practice, import_csv):
    import_csv(practice, *GOOD)
    outcome = import_csv(
        practice,
        "code,description",
        "W8500,Arthroscopic operations on knee (multiple)",
        "C7520,Phacoemulsification of lens with implant",
        today=date(2024, 5, 10),
    )
    assert (outcome.added, outcome.changed, outcome.retired) == (0, 1, 0)  # W8500; AC100 already ended
    outcome = import_csv(
        practice, "code,description", "W8500,Arthroscopic operations on knee (multiple)", today=date(2024, 5, 10)
    )
    assert outcome.retired == 1
    assert Code.objects.get(practice=practice, code_key="C7520").active_to == date(2024, 5, 9)
    # the new words are searchable, the old ones are gone
    found = selectors.search_codes(practice=practice, system="ccsd", query="multiple knee", on_date=date(2024, 1, 1))
    assert [m.code for m in found] == ["W8500"]


@pytest.mark.parametrize(
    "content, row, words",
    [
        (csv_bytes("code,title", "W8500,x"), 1, ["no", "description"]),  # "title" is an alias: see next
        (csv_bytes("kode,description", "W8500,x"), 1, ["no", "code", "column"]),
        (
            csv_bytes("code,description,active from", "W8500,Knee,2020-01-01", "C7520,Lens,31/02/2020"),
            3,
            ["31/02/2020", "not a date"],
        ),
        (
            csv_bytes("code,description", "W8500,Knee", "C7520,Lens", "w8500,Knee again"),
            4,
            ["W8500", "appears again", "row 2"],
        ),
        (csv_bytes("code,description", "W8500,Knee", "NOTACODE,Bad"), 3, ["not a valid code"]),
        (csv_bytes("code,description", "W8500,"), 2, ["description", "empty"]),
        ("code,description\nW8500,Kn\u00e9e\n".encode("cp1252"), 2, ["not UTF-8", "CSV UTF-8"]),
    ],
    ids=[
        "title-is-description",
        "missing-code-column",
        "bad-date",
        "duplicate-code",
        "bad-code",
        "empty-description",
        "wrong-encoding",
    ],
)
def test_malformed_file_names_the_row_and_changes_nothing(practice, import_csv, content, row, words):
    import_csv(practice, "code,description", "H2510,Rigid sigmoidoscopy")
    before = snapshot(practice)
    if words == ["no", "description"]:  # "title" is understood as the description column
        assert import_csv(practice, content=content).added == 1
        return
    with pytest.raises(CodeFileError) as caught:
        import_csv(practice, content=content)
    assert caught.value.problems[0].row == row
    message = caught.value.message
    for word in words:
        assert word.lower() in message.lower(), message
    assert "Nothing was changed" in message
    assert snapshot(practice) == before


def test_two_megabytes_of_junk(practice, import_csv):
    before = snapshot(practice)
    junk = os.urandom(2 * 1024 * 1024)
    with pytest.raises(CodeFileError) as caught:
        import_csv(practice, content=junk)
    assert "not a text file" in caught.value.message or "not UTF-8" in caught.value.message
    printable = (b"lorem,ipsum;dolor\n" * 120_000)[: 2 * 1024 * 1024]
    with pytest.raises(CodeFileError) as caught:
        import_csv(practice, content=printable)
    assert caught.value.problems[0].row == 1 and "no “code” and “description” column" in caught.value.message
    assert snapshot(practice) == before


def test_many_problems_are_listed_up_to_a_limit(practice, import_csv):
    lines = ["code,description,active to"] + [f"W{n:04d},Knee,not-a-date" for n in range(100)]
    with pytest.raises(CodeFileError) as caught:
        import_csv(practice, *lines)
    assert len(caught.value.problems) == 20 and caught.value.problems[0].row == 2


def test_accepted_list_with_max_fee_and_lookups(practice, other_practice, import_csv, bupa, django_assert_num_queries):
    outcome = import_csv(
        practice, "Procedure code,Maximum fee (£),valid from", 'W8500,"£1,250.00",2024-01-01', "C7520,,", insurer=bupa
    )
    assert outcome.added == 2
    row = AcceptedCode.objects.get(practice=practice, code_key="W8500")
    assert row.max_fee == Decimal("1250.00") and isinstance(row.max_fee, Decimal)
    day = date(2024, 6, 1)
    with django_assert_num_queries(1):
        assert selectors.is_code_accepted(practice=practice, insurer=bupa, code="w8500", on_date=day)
    with django_assert_num_queries(1):
        assert selectors.max_fee(practice=practice, insurer=bupa, code="W8500", on_date=day) == Decimal("1250.00")
    assert not selectors.is_code_accepted(practice=practice, insurer=bupa, code="W8500", on_date=date(2023, 12, 31))
    assert not selectors.is_code_accepted(practice=practice, insurer=bupa, code="H2510", on_date=day)
    assert selectors.max_fee(practice=practice, insurer=bupa, code="C7520", on_date=day) is None
    # another practice has no list for Bupa: nothing is known to be refused
    assert selectors.is_code_accepted(practice=other_practice, insurer=bupa, code="H2510", on_date=day)
    assert selectors.max_fee(practice=other_practice, insurer=bupa, code="W8500", on_date=day) is None


def test_bad_fee_names_row_and_column(practice, import_csv, bupa):
    with pytest.raises(CodeFileError) as caught:
        import_csv(practice, "code,max fee", "W8500,12.345", insurer=bupa)
    assert str(caught.value.problems[0]) == "Row 2, Max fee: “12.345” has more than 2 decimal places (pounds and pence)"
    assert not AcceptedCode.objects.exists()


def test_is_code_active(practice, import_csv, django_assert_num_queries):
    import_csv(practice, "code,description,active from,active to", "W8500,Knee,2020-01-01,2020-12-31")
    with django_assert_num_queries(1):
        assert selectors.is_code_active(practice=practice, code_system="ccsd", code="W8500", on_date=date(2020, 6, 1))
    assert not selectors.is_code_active(practice=practice, code_system="ccsd", code="W8500", on_date=date(2021, 1, 1))
    assert selectors.is_code_active(practice=practice, code_system="icd10", code="E11.9", on_date=date.today())
    assert not selectors.is_code_active(practice=practice, code_system="icd10", code="E11", on_date=date.today())


def test_management_command(practice, tmp_path, capsys, bupa):
    path = tmp_path / "codes.csv"
    path.write_bytes(csv_bytes(*GOOD))
    call_command("import_codes", str(path), "--practice", str(practice.pk))
    out = capsys.readouterr().out
    assert "3 added" in out and "rows/s" in out
    call_command("import_codes", str(path), "--practice", practice.name)
    assert "0 added, 0 changed, 0 retired, 3 unchanged" in capsys.readouterr().out
    fees = tmp_path / "bupa.csv"
    fees.write_bytes(csv_bytes("code,max fee", "W8500,100"))
    call_command("import_codes", str(fees), "--practice", practice.name, "--insurer", "bup")
    assert AcceptedCode.objects.filter(insurer=bupa).count() == 1
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes("code,description", "W8500,Knee", "W8500,Again"))
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("import_codes", str(bad), "--practice", practice.name)
    assert "Row 3, Code: W8500 appears again" in capsys.readouterr().err


# Property: importing any valid file twice changes nothing the second time, and what is stored is
# exactly what the file said (round trip).
ccsd_code = st.one_of(
    st.builds(lambda letter, n: f"{letter}{n:04d}", st.sampled_from("ABCHW"), st.integers(0, 9999)),
    st.integers(0, 99999).map(lambda n: f"{n:05d}"),
)
description = (
    st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs"]), min_size=1, max_size=40)
    .map(lambda s: " ".join(s.split()))
    .filter(bool)
)
day = st.dates(date(2000, 1, 1), date(2030, 12, 31))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.dictionaries(
        ccsd_code, st.tuples(description, st.none() | day, st.none() | st.integers(0, 400)), min_size=1, max_size=25
    )
)
def test_import_round_trip_and_idempotent(practice, import_csv, rows):
    Code.objects.filter(practice=practice).delete()
    lines = ["code,description,active from,active to"]
    for code, (text, start, length) in rows.items():
        end = start + timedelta(days=length) if start and length is not None else None
        lines.append(f'{code},"{text}",{start or ""},{end.strftime("%d/%m/%Y") if end else ""}')
    first = import_csv(practice, *lines)
    assert first.added == len(rows)
    again = import_csv(practice, *lines)
    assert (again.added, again.changed, again.retired, again.unchanged) == (0, 0, 0, len(rows))
    stored = {c.code: (c.description, c.active_from) for c in Code.objects.filter(practice=practice)}
    assert stored == {code: (text, start) for code, (text, start, _) in rows.items()}


def test_descriptions_are_stored_as_written(practice, import_csv):
    """Backslashes and accents survive the bulk path (COPY's text format on PostgreSQL)."""
    import_csv(practice, "code,description", r"W8500,Knee \N back\slash\t Ménière", "W8520,Plain")
    assert Code.objects.get(practice=practice, code_key="W8500").description == r"Knee \N back\slash\t Ménière"
    assert [m.code for m in selectors.search_codes(practice=practice, system="ccsd", query="meniere")] == ["W8500"]
