"""Every app's domain error shares one base (openpractice.domain_errors.DomainError) with its codes
in the app's `Code` StrEnum: an unknown code fails where it is raised, the API answers every one
with the same 422 body as before, and every code written in openpractice/ is in its app's enum."""

from __future__ import annotations

import ast
import importlib
import json
from enum import StrEnum
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.test import Client, RequestFactory

import openpractice
from openpractice.api import api
from openpractice.coding.importing import CodeFileError
from openpractice.domain_errors import DomainError
from openpractice.healthcode.client import HealthcodeError
from openpractice.healthcode.errors import HealthcodeSetupError, SubmissionError

APPS = (
    "accounts",
    "audit",
    "billing",
    "coding",
    "contacts",
    "healthcode",
    "patients",
    "practices",
    "products",
    "remittances",
)
ROOT = Path(openpractice.__file__).parent


def _error_classes() -> dict[str, type[DomainError]]:
    """Every app's error classes by name (the app's own and their subclasses, such as CodeFileError)."""
    for app in APPS:
        importlib.import_module(f"openpractice.{app}.errors")
    found, waiting = {}, list(DomainError.__subclasses__())
    while waiting:
        cls = waiting.pop()
        if cls.__module__.startswith("openpractice."):
            found[cls.__name__] = cls
        waiting.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("app", APPS)
def test_each_apps_error_subclasses_the_base_with_its_own_code_enum(app):
    module = importlib.import_module(f"openpractice.{app}.errors")
    assert issubclass(module.Code, StrEnum)
    classes = [
        v
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, DomainError) and v.__module__ == module.__name__
    ]
    assert classes, f"openpractice.{app}.errors has no DomainError"
    for cls in classes:
        assert cls.Code is module.Code
        error = cls("Something is wrong.", field="name")
        assert (error.message, error.field, str(error)) == ("Something is wrong.", "name", "Something is wrong.")
        assert error.code is cls.Code(cls.default_code) and isinstance(error.code, str)
        for member in cls.Code:
            assert cls("x", code=member.value).code is member  # a string becomes its member
            assert cls("x", code=member).code is member


def test_the_codes_are_todays_strings():
    from openpractice.billing.errors import BillingError
    from openpractice.remittances.errors import Code, RemittanceError

    error = RemittanceError("Nothing new.", field="file", code=Code.DUPLICATE)
    assert error.code == "duplicate" and f"{error.code}" == "duplicate" and json.dumps(error.code) == '"duplicate"'
    assert BillingError("x").code == "invalid" and HealthcodeSetupError("x").code == "not_configured"
    assert CodeFileError([SimpleNamespace(row=3, column="code", message="bad")]).code == "bad_file"


def test_an_unknown_code_fails_loudly():
    from openpractice.billing.errors import BillingError
    from openpractice.remittances.errors import Code as RemittanceCode

    with pytest.raises(ValueError, match="'wrong_stauts' is not a BillingError code"):
        BillingError("x", code="wrong_stauts")
    with pytest.raises(ValueError, match="not a BillingError code"):
        BillingError("x", code="duplicate")  # a remittance code, not a billing one
    assert BillingError("x", code=RemittanceCode.WRONG_STATUS).code is BillingError.Code.WRONG_STATUS  # same string
    with pytest.raises(TypeError):
        BillingError("x", code=404)
    with pytest.raises(TypeError):
        DomainError("no app's error")
    with pytest.raises(TypeError, match="Code must be"):
        type("NoCodes", (DomainError,), {})


# -- the API ----------------------------------------------------------------------------------------
def _before(request, exc):
    """The 422 body as the API built it before the shared base: one handler per class."""
    if isinstance(exc, SubmissionError) and not isinstance(exc, HealthcodeSetupError) and exc.problems:
        detail = [{"loc": ["body", p.field], "msg": f"{p.error}. {p.suggestion}", "type": p.rule} for p in exc.problems]
    else:
        detail = [{"loc": ["body", exc.field] if exc.field else ["body"], "msg": exc.message, "type": str(exc.code)}]
    return api.create_response(request, {"detail": detail}, status=422)


def _examples():
    for name, cls in sorted(_error_classes().items()):
        if cls is CodeFileError:
            yield CodeFileError([SimpleNamespace(row=2, column="code", message="“A1” is not a code")])
            continue
        yield cls(f"{name}: enter a date such as 01/02/2026 — “quoted”, £5.", field="invoice_date")
        yield cls(f"{name} about the whole request.", code=sorted(cls.Code)[-1].value)
    problem = SimpleNamespace(
        field="patient.postcode", error="The postcode is missing", suggestion="Add it", rule="postcode_required"
    )
    yield SubmissionError(
        "The bill did not pass the check.", field="invoice", code="check_failed", problems=[problem, problem]
    )


@pytest.mark.parametrize("exc", list(_examples()), ids=lambda e: f"{type(e).__name__}-{e.code}-{e.field}")
def test_one_handler_answers_every_domain_error_byte_for_byte_as_before(exc):
    request = RequestFactory().post("/api/v1/anything")
    answer, before = api.on_exception(request, exc), _before(request, exc)
    assert (answer.status_code, answer["Content-Type"], answer.content) == (422, before["Content-Type"], before.content)


def test_the_handler_is_registered_once_for_the_base():
    registered = [cls for cls in api._exception_handlers if isinstance(cls, type) and issubclass(cls, DomainError)]
    assert registered == [DomainError]


def test_an_api_call_refused_by_a_service_answers_422_with_the_code(owner, practice, api_token_for):
    client = Client(raise_request_exception=False)
    headers = api_token_for(owner, practice)

    def post(body):
        return client.post("/api/v1/locations", json.dumps(body), content_type="application/json", **headers)

    assert post({"name": "Rooms A"}).status_code == 201
    again = post({"name": "Rooms A"})
    assert again.status_code == 422
    [detail] = again.json()["detail"]
    assert detail["loc"] == ["body", "name"] and detail["type"] == "duplicate"
    assert again.content == json.dumps({"detail": [detail]}).encode()


# -- every code written in openpractice/ is in its app's enum ---------------------------------------------
def _codes_written() -> list[tuple[str, int, str, ast.expr]]:
    """(file, line, error class, the code expression) for every `SomeError(..., code=...)` call."""
    names = set(_error_classes()) | {HealthcodeError.__name__}
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in names:
                found += [
                    (str(path.relative_to(ROOT)), node.lineno, name, kw.value)
                    for kw in node.keywords
                    if kw.arg == "code"
                ]
    return found


def _literal_codes(expr: ast.expr) -> list[tuple[str, str]]:
    """("value", text) for a string literal, ("member", name) for `Code.NAME` / `XError.Code.NAME`;
    both arms of a conditional. Other expressions (exc.code, a status) are checked when raised."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [("value", expr.value)]
    if isinstance(expr, ast.Attribute) and (
        (isinstance(expr.value, ast.Name) and expr.value.id == "Code")
        or (isinstance(expr.value, ast.Attribute) and expr.value.attr == "Code")
    ):
        return [("member", expr.attr)]
    if isinstance(expr, ast.IfExp):
        return _literal_codes(expr.body) + _literal_codes(expr.orelse)
    return []


def test_every_code_written_in_openpractice_is_in_its_apps_enum():
    classes = _error_classes()
    # The clearing-house client's codes reach the API through SubmissionError(code=exc.code).
    enums = {name: cls.Code for name, cls in classes.items()} | {HealthcodeError.__name__: SubmissionError.Code}
    written = _codes_written()
    problems, seen = [], set()
    for path, line, name, expr in written:
        codes = enums[name]
        for kind, text in _literal_codes(expr):
            ok = text in codes.__members__ if kind == "member" else text in {c.value for c in codes}
            if not ok:
                problems.append(f"{path}:{line}: {name} code {text!r} is not in {codes.__module__}.Code")
            seen.add(name)
    assert not problems, "\n".join(problems)
    # The scan really reads the raise sites: every app's error is found with a written code.
    assert {
        "AccountError",
        "AuditError",
        "BillingError",
        "CodingError",
        "ContactError",
        "SubmissionError",
        "HealthcodeSetupError",
        "PatientError",
        "PracticeError",
        "ProductError",
        "RemittanceError",
        "HealthcodeError",
    } <= seen, seen
    assert len(written) > 100
