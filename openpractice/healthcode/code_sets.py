"""The clearing house's reference data as sources: code sets (service-type = ISC, procedure-code =
CCSD) for the coding importer. The insurer list is directory.py's."""

from __future__ import annotations

import datetime as dt

from openpractice.coding.importing import CodeFileError, IncomingCode, Problem
from openpractice.coding.models import CodeSource
from openpractice.coding.normalise import code_key
from openpractice.healthcode import answers
from openpractice.healthcode.client import HealthcodeError
from openpractice.healthcode.connection import client_for_practice

CODE_SETS = {"isc": "service-type", "ccsd": "procedure-code"}
PAGE = 100
MAX_PAGES = 2000


class ClearingHouseCodeSource:
    """A coding.importing.CodeSetSource reading the clearing house's code-set search API."""

    source: str = CodeSource.CLEARING_HOUSE  # str, as CodeSetSource declares it

    def __init__(self, *, practice):
        self.practice = practice

    def read(self, *, system: str, with_fee: bool, progress=None) -> list[IncomingCode]:
        if system not in CODE_SETS:
            raise CodeFileError([Problem(None, "system", f"The clearing house has no code set for {system}.")])
        found: list[IncomingCode] = []
        with client_for_practice(self.practice) as client:
            for page in range(1, MAX_PAGES + 1):
                try:
                    answer = client.search_code_set(code_set=CODE_SETS[system], page=page, count=PAGE)
                except HealthcodeError as exc:
                    raise CodeFileError([Problem(None, "clearing house", exc.message)]) from None
                if answer.status_code != 200:
                    raise CodeFileError([Problem(None, "clearing house", f"HTTP {answer.status_code}")])
                body = answers.parse_json(answer.text)
                entries = answers.bundle_resources(body, "Basic")
                for entry in entries:
                    found.append(_incoming(len(found) + 1, entry))
                if len(entries) < PAGE or len(found) >= answers.paging_total(body):
                    break
        return found


def _incoming(row: int, entry: dict) -> IncomingCode:
    coding = ((entry.get("code") or {}).get("coding") or [{}])[0]
    code = str(coding.get("code") or "")
    period = (
        next(
            (
                e.get("valuePeriod")
                for e in entry.get("extension") or []
                if str(e.get("url", "")).endswith("/active-period")
            ),
            None,
        )
        or {}
    )

    def day(text):
        try:
            return dt.date.fromisoformat(text) if text else None
        except ValueError:
            return None

    return IncomingCode(
        row=row,
        code=code,
        key=code_key(code),
        description=str(coding.get("display") or code)[:500],
        active_from=day(period.get("start")),
        active_to=day(period.get("end")),
    )
