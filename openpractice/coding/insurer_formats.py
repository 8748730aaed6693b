"""The insurers' published format rules for registration (membership) and authorisation numbers.

Pure functions, no Django: one table per kind of number, keyed by the insurer's Healthcode
identifier (where Healthcode publishes it) or by its name (where it does not). Sources, key
A = letter, N = digit, X = either (docs in shared/domain/HEALTHCODE.md):
  https://www.healthcode.co.uk/help-and-support/validation-rules-membership-numbers/
  https://www.healthcode.co.uk/help-and-support/validation-rules-authorisation-numbers/
  https://provider.axahealth.co.uk/.../understanding-our-membership-numbers/
  https://www.vitality.co.uk/healthcare-providers/provider-faqs/

Choices written down here:
- Input is normalised first: surrounding blanks removed, letters upper-cased, runs of blanks
  collapsed to one space (Aetna's "W1234 12345" keeps its one space).
- The AXA Health family (AXA, Freedom, Exeter, AXA Global) is billed to AXA Health (`ppp`), so
  the AXA Health insurer accepts every family format; a directory entry named Freedom, Exeter or
  AXA Global accepts only its own.
- Allianz Partners accepts `P` + 4 to 9 digits and the Aetna Americas `W` formats (each optionally
  followed by `-NN`): Aetna Americas members are billed to Allianz Partners, so there is no
  separate Aetna insurer to pick (a directory entry whose name mentions Aetna is read as Allianz
  Partners too). An authorisation code is Aetna's format (`C` + 6 to 10 digits, or 5 to 8
  digits) when the member's number is an Aetna Americas `W` number, else Allianz's free format.
- Insurers without a published format (Bupa, Aviva: checked against the member database at
  Healthcode; the rest: unknown) get a general check: letters, digits, `-`, `/`, `\\`, spaces,
  at most 30 characters, at least one digit.
- AXA does not validate authorisation numbers; insurers without a published authorisation format
  get the same general check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "FormatResult",
    "check_registration_number",
    "check_authorisation_code",
    "insurer_key",
    "is_aetna_americas_number",
    "normalise",
    "registration_formats",
    "authorisation_formats",
]


@dataclass(frozen=True)
class FormatResult:
    ok: bool
    value: str  # the normalised value (store this)
    message: str = ""  # why not, naming the expected format

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class _Rule:
    label: str  # the insurer's name as the message says it
    patterns: tuple[tuple[str, str], ...]  # (regex, how it reads: "NNNNNNNN")

    def matches(self, value: str) -> bool:
        return any(re.fullmatch(regex, value) for regex, _ in self.patterns)

    @property
    def shapes(self) -> str:
        shapes = [shape for _, shape in self.patterns]
        return shapes[0] if len(shapes) == 1 else ", ".join(shapes[:-1]) + " or " + shapes[-1]


def normalise(value: str | None) -> str:
    return re.sub(r"\s+", " ", (value or "").strip()).upper()


def _norm_name(name: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", " ", (name or "").lower()).strip()


# -- registration (membership / policy) numbers ------------------------------------------------
_AXA = (
    (r"AXA-[A-Z]{2}\d{6}", "AXA-AA000000"),
    (r"[A-Z]{2}\d{7}[A-Z]", "AA0000000A"),
    (r"\d{7}[A-Z]", "0000000A"),
    (r"AXA/[A-Z]\d{7}", "AXA/A0000000"),
    (r"HOL/[A-Z]\d{7}", "HOL/A0000000"),
)
_FREEDOM = (
    (r"[A-Z]{2}\d{6}", "AA000000"),
    (r"[A-Z]{3}\d{5}", "AAA00000"),
)
_EXETER = (
    (r"\d{8}[A-Z]{2}\d{2}", "00000000AA00"),
    (r"[A-Z]{2}\d{8}", "AA00000000"),
    (r"\d{6,7}", "6 or 7 digits"),
)
_AXA_GLOBAL = (
    (r"(?:AXI|AXE|AXC|BXI|BXE|BXC|HKE|KVE|OGI)\d{8}", "AXI, AXE, AXC, BXI, BXE, BXC, HKE, KVE or OGI + 8 digits"),
    (r"INTL7\d{6,7}", "INTL7 + 6 or 7 digits"),
)
_ALLIANZ = ((r"P\d{4,9}", "P + 4 to 9 digits (P12345)"),)
_AETNA_W = (
    (r"W\d{9}(?:-\d{2})?", "W + 9 digits"),
    (r"W\d{10}(?:-\d{2})?", "W + 10 digits"),
    (r"W\d{4} \d{5,6}(?:-\d{2})?", "W + 4 digits, a space, 5 or 6 digits (each W format may end -NN)"),
)

REGISTRATION_RULES: dict[str, _Rule] = {
    "alliance health": _Rule("Alliance Health", ((r"\d{6,8}", "NNNNNN, NNNNNNN or NNNNNNNN (6 to 8 digits)"),)),
    "allianz partners": _Rule("Allianz Partners", _ALLIANZ + _AETNA_W),
    "bui": _Rule("Bupa Global", ((r"[A-Z0-9]{2}-\d{4}-\d{4}-\d{4}", "XX-NNNN-NNNN-NNNN (such as BI-1234-5678-9012)"),)),
    "ppp": _Rule("AXA Health", _AXA + _FREEDOM + _EXETER + _AXA_GLOBAL),
    "freedom": _Rule("Freedom", _FREEDOM),
    "exeter": _Rule("Exeter", _EXETER),
    "axa global": _Rule("AXA Global", _AXA_GLOBAL),
    "slh": _Rule("Vitality", ((r"\d{8}", "the 8-digit policy number (NNNNNNNN)"),)),
}

# -- pre-authorisation numbers -----------------------------------------------------------------
# "aetna americas" is not an insurer: it is the rule for an Allianz Partners member whose number is
# an Aetna Americas W number (_authorisation_key).
AUTHORISATION_RULES: dict[str, _Rule] = {
    "aetna americas": _Rule(
        "Aetna Americas (Allianz Partners)", ((r"C\d{6,10}", "C + 6 to 10 digits"), (r"\d{5,8}", "5 to 8 digits"))
    ),
    "alliance health": _Rule("Alliance Health", ((r"[A-Z]{3}\d{5}", "AAANNNNN"), (r"[A-Z]-[A-Z]\d{5}", "A-ANNNNN"))),
    "allianz partners": _Rule("Allianz", ((r"[A-Z0-9-]+", "letters, digits and hyphens"),)),
    "nuh": _Rule(
        "Aviva",
        (
            (r"\d{6}/\d{2}/\d{4}/\d{3}", "NNNNNN/NN/NNNN/NNN"),
            (r"\d{6}\\\d{2}\\\d{4}\\\d{3}", "NNNNNN\\NN\\NNNN\\NNN"),
            (r"\d{6}/\d{2}", "NNNNNN/NN"),
        ),
    ),
}
# AXA does not validate authorisation numbers: anything the general check allows.
_NOT_VALIDATED = {"ppp", "freedom", "exeter", "axa global"}

_GENERAL = re.compile(r"[A-Z0-9][A-Z0-9 /\\-]{0,29}")
_MAX_LENGTH = 30

# Names (normalised) and identifiers that lead to each key above.
_NAME_KEYS = (
    ("aetna", "allianz partners"),
    ("bupa global", "bui"),
    ("bupa international", "bui"),
    ("alliance health", "alliance health"),
    ("allianz", "allianz partners"),
    ("axa global", "axa global"),
    ("axa", "ppp"),
    ("freedom", "freedom"),
    ("exeter", "exeter"),
    ("vitality", "slh"),
    ("aviva", "nuh"),
    ("bupa", "bup"),
)
_IDENTIFIER_KEYS = {"bup", "bui", "ppp", "nuh", "slh", "cin", "tih", "wpa", "pzo"}


def insurer_key(identifier: str | None = None, name: str | None = None) -> str:
    """The key the rule tables use for an insurer: its Healthcode identifier where Healthcode
    publishes one, else a family name found in its name ("" when neither is known)."""
    name_key = _norm_name(name)
    ident = (identifier or "").strip().lower()
    if ident in _IDENTIFIER_KEYS:
        return ident
    for needle, key in _NAME_KEYS:
        if needle in name_key:
            return key
    return ident or name_key


def _general(kind: str, value: str, label: str) -> FormatResult:
    if len(value) > _MAX_LENGTH:
        return FormatResult(False, value, f"{kind} can be at most {_MAX_LENGTH} characters.")
    if not _GENERAL.fullmatch(value) or not re.search(r"\d", value):
        who = f"{label} " if label else ""
        return FormatResult(
            False,
            value,
            f"Enter the {who}{kind.lower()} as printed: letters and digits, with any -, / or spaces, "
            f"and at least one digit.",
        )
    return FormatResult(True, value)


def check_registration_number(
    value: str | None, *, identifier: str | None = None, name: str | None = None
) -> FormatResult:
    """Is this a registration (membership / policy) number the insurer could have issued?"""
    value = normalise(value)
    if not value:
        return FormatResult(False, value, "Enter the registration number (the membership or policy number).")
    key = insurer_key(identifier, name)
    rule = REGISTRATION_RULES.get(key)
    if rule is None:
        return _general("Registration number", value, name or "")
    if rule.matches(value):
        return FormatResult(True, value)
    if key == "slh" and re.fullmatch(r"12\d{8}", value):
        return FormatResult(
            False,
            value,
            "That is the Vitality member number (10 digits starting 12). Enter the 8-digit policy number "
            "instead (NNNNNNNN).",
        )
    return FormatResult(False, value, f"{rule.label} registration numbers look like {rule.shapes}.")


def is_aetna_americas_number(registration_number: str | None) -> bool:
    """An Allianz Partners member number in one of the Aetna Americas W formats."""
    value = normalise(registration_number)
    return any(re.fullmatch(regex, value) for regex, _ in _AETNA_W)


def _authorisation_key(identifier: str | None, name: str | None, registration_number: str | None) -> str:
    key = insurer_key(identifier, name)
    if key == "allianz partners" and is_aetna_americas_number(registration_number):
        return "aetna americas"
    return key


def check_authorisation_code(
    value: str | None,
    *,
    identifier: str | None = None,
    name: str | None = None,
    registration_number: str | None = None,
) -> FormatResult:
    """Is this a pre-authorisation number the insurer could have issued? Blank is fine (optional).
    `registration_number` matters for Allianz Partners: an Aetna Americas member's code is Aetna's."""
    value = normalise(value)
    if not value:
        return FormatResult(True, value)
    key = _authorisation_key(identifier, name, registration_number)
    if key in _NOT_VALIDATED:
        return (
            _general("Authorisation code", value, name or "") if len(value) > _MAX_LENGTH else FormatResult(True, value)
        )
    rule = AUTHORISATION_RULES.get(key)
    if rule is None:
        return _general("Authorisation code", value, name or "")
    if len(value) <= _MAX_LENGTH and rule.matches(value):
        return FormatResult(True, value)
    return FormatResult(False, value, f"{rule.label} authorisation codes look like {rule.shapes}.")


def registration_formats(*, identifier: str | None = None, name: str | None = None) -> str:
    """The expected shapes, for help text next to the field ("" when no format is published)."""
    rule = REGISTRATION_RULES.get(insurer_key(identifier, name))
    return rule.shapes if rule else ""


def authorisation_formats(
    *, identifier: str | None = None, name: str | None = None, registration_number: str | None = None
) -> str:
    rule = AUTHORISATION_RULES.get(_authorisation_key(identifier, name, registration_number))
    return rule.shapes if rule else ""
