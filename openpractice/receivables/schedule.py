"""The chase schedule's stages, their default wording and the merge fields their templates use.

Templates are Django templates rendered by an engine of their own: plain text (an email body, a
letter's text; the letter page escapes it when drawing it), the default tags and filters only, no
template loaders nor loader tags (`{% include %}` and `{% extends %}` are refused), and only the merge fields
below. A template is checked when it is saved: bad syntax or an unknown merge field is refused
with the stage and the field named.
"""

from __future__ import annotations

import dataclasses
import re

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import tag_re

from openpractice.receivables.errors import ReceivablesError
from openpractice.receivables.models import STAGE_ORDER, StageKey

MERGE_FIELDS: dict[str, str] = {
    "patient_name": "the patient's name",
    "balance": "what the patient owes in all, in pounds",
    "oldest_invoice": "the number of the oldest unpaid invoice",
    "oldest_invoice_date": "the date of the oldest unpaid invoice",
    "due_date": "when the oldest unpaid invoice fell due",
    "practice_name": "the practice's name",
    "practice_phone": "the practice's phone number",
    "payment_link": "where to pay online",
}
TEMPLATE_FIELDS = {"email_subject": "email subject", "email_body": "email", "letter_body": "letter"}
# The root name of each {{ variable }}: `{{ balance }}`, `{{ due_date|upper }}` name balance, due_date.
_VARIABLE = re.compile(r"{{\s*([A-Za-z_][\w]*)")
# Variables a template may use besides the merge fields (inside {% for %} and {% with %}).
_TEMPLATE_NAMES = {"forloop", "True", "False", "None"}


class _MergeEngine(Engine):
    # Without django.template.loader_tags: {% include %}, {% extends %} and {% block %} are bad
    # syntax here, refused when the template is saved rather than failing when a letter is sent.
    default_builtins = ["django.template.defaulttags", "django.template.defaultfilters"]


ENGINE = _MergeEngine(autoescape=False, loaders=[], debug=False)


@dataclasses.dataclass(frozen=True)
class Stage:
    key: str
    days_overdue: int
    enabled: bool
    email_subject: str
    email_body: str
    letter_body: str

    @property
    def label(self) -> str:
        return StageKey(self.key).label

    @property
    def position(self) -> int:
        return STAGE_ORDER[self.key]


_SIGN_OFF = "\n\nYours sincerely,\n{{ practice_name }}\n{{ practice_phone }}"
DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage(
        StageKey.STATEMENT,
        0,
        True,
        "Your statement from {{ practice_name }}",
        "Dear {{ patient_name }},\n\nYour account with {{ practice_name }} shows {{ balance }} to pay, "
        "the oldest bill being invoice {{ oldest_invoice }} of {{ oldest_invoice_date }}, due on {{ due_date }}.\n\n"
        "You can pay online at {{ payment_link }} or call us on {{ practice_phone }}." + _SIGN_OFF,
        "Dear {{ patient_name }},\n\nStatement of account: {{ balance }} to pay. The oldest bill is invoice "
        "{{ oldest_invoice }} of {{ oldest_invoice_date }}, due on {{ due_date }}.\n\n"
        "Pay online at {{ payment_link }} or call us on {{ practice_phone }}." + _SIGN_OFF,
    ),
    Stage(
        StageKey.REMINDER,
        14,
        True,
        "Reminder: {{ balance }} to pay to {{ practice_name }}",
        "Dear {{ patient_name }},\n\nOur records show {{ balance }} still to pay; invoice {{ oldest_invoice }} "
        "fell due on {{ due_date }}. If you have paid in the last few days, thank you, and please ignore "
        "this reminder.\n\nPay online at {{ payment_link }}." + _SIGN_OFF,
        "Dear {{ patient_name }},\n\nReminder: {{ balance }} is still to pay; invoice {{ oldest_invoice }} fell "
        "due on {{ due_date }}.\n\nPay online at {{ payment_link }} or call us on {{ practice_phone }}." + _SIGN_OFF,
    ),
    Stage(
        StageKey.SECOND_REMINDER,
        28,
        True,
        "Second reminder: {{ balance }} overdue",
        "Dear {{ patient_name }},\n\nWe wrote about {{ balance }} due since {{ due_date }} (invoice "
        "{{ oldest_invoice }}) and have not yet received payment. Please pay now at {{ payment_link }}, or "
        "call us on {{ practice_phone }} to agree when you can." + _SIGN_OFF,
        "Dear {{ patient_name }},\n\nSecond reminder: {{ balance }} has been due since {{ due_date }} (invoice "
        "{{ oldest_invoice }}). Please pay at {{ payment_link }} or call us on {{ practice_phone }}." + _SIGN_OFF,
    ),
    Stage(
        StageKey.FINAL_NOTICE,
        42,
        True,
        "Final notice: {{ balance }} overdue",
        "Dear {{ patient_name }},\n\nFinal notice: {{ balance }} has been overdue since {{ due_date }}. Unless "
        "it is paid or we hear from you within 14 days, we will pass the debt to a collection agency.\n\n"
        "Pay at {{ payment_link }} or call {{ practice_phone }}." + _SIGN_OFF,
        "Dear {{ patient_name }},\n\nFINAL NOTICE: {{ balance }} has been overdue since {{ due_date }} (invoice "
        "{{ oldest_invoice }}). Unless it is paid or we hear from you within 14 days, we will pass the debt to "
        "a collection agency.\n\nPay at {{ payment_link }} or call {{ practice_phone }}." + _SIGN_OFF,
    ),
    Stage(
        StageKey.COLLECTION,
        56,
        True,
        "Your account has been referred for collection",
        "Dear {{ patient_name }},\n\nAs {{ balance }} remains unpaid since {{ due_date }}, your account has been "
        "referred for collection. To settle it, call {{ practice_phone }}." + _SIGN_OFF,
        "Dear {{ patient_name }},\n\nAs {{ balance }} remains unpaid since {{ due_date }} (invoice "
        "{{ oldest_invoice }}), your account has been referred for collection. To settle it, call "
        "{{ practice_phone }}." + _SIGN_OFF,
    ),
)


def field_name(key: str, field: str) -> str:
    """A stage's field in the schedule form and in errors: `reminder-email_body`."""
    return f"{key}-{field}"


def check_template(text: str, *, key: str, field: str) -> None:
    """Refuse bad syntax or an unknown merge field, naming the stage and the field."""
    where = f"{StageKey(key).label}, {TEMPLATE_FIELDS[field]}"
    try:
        ENGINE.from_string(text)
        # Django reads a `{{` never closed as plain text; in a letter it is a mistake.
        if any(mark in tag_re.sub("", text) for mark in ("{{", "}}", "{%", "%}")):
            raise TemplateSyntaxError("a {{ or {% is not closed, or a }} or %} not opened")
    except TemplateSyntaxError as exc:
        raise ReceivablesError(
            f"{where}: the template does not read ({exc}). Merge fields are written {{{{ balance }}}}.",
            field=field_name(key, field),
            code="template",
        ) from None
    unknown = sorted({name for name in _VARIABLE.findall(text)} - set(MERGE_FIELDS) - _TEMPLATE_NAMES)
    if unknown:
        raise ReceivablesError(
            f"{where}: no merge field called {', '.join(unknown)}. Use {', '.join(MERGE_FIELDS)}.",
            field=field_name(key, field),
            code="template",
        )


def render(text: str, fields: dict[str, str]) -> str:
    return ENGINE.from_string(text).render(Context(fields, autoescape=False))


@dataclasses.dataclass(frozen=True)
class Rendered:
    stage: Stage
    subject: str
    email: str
    letter: str


def render_stage(stage: Stage, fields: dict[str, str]) -> Rendered:
    return Rendered(
        stage=stage,
        subject=" ".join(render(stage.email_subject, fields).split()),
        email=render(stage.email_body, fields),
        letter=render(stage.letter_body, fields),
    )
