"""Reusable form widgets. Today: the accessible type-ahead (ARIA combobox) on htmx.

A type-ahead has two parts:
- `TypeaheadWidget`, put on any form field: a visible combobox input plus a hidden input holding the
  chosen value (a code, an id). Its `source_url` answers GET `?q=...` (plus the widget's `params`)
  with option HTML.
- `typeahead_options_response(request, options, query=...)`, what that URL returns: a list of
  `TypeaheadOption`, rendered by `render_typeahead_options`, including the "No match" state.
The keyboard, ARIA state and htmx wiring live in `static/js/typeahead.js` (no build, no CDN).
See docs/architecture.md, "Type-ahead widget".
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django import forms
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

# The visible text of a chosen option is "VALUE — description"; without JavaScript the server
# reads the value back from the text before this separator.
LABEL_SEPARATOR = " — "
SEARCH_SUFFIX = "_search"


@dataclass(frozen=True)
class TypeaheadOption:
    """One suggestion. `value` goes in the hidden input, `label` in the visible input once chosen;
    `primary`/`secondary` are what the list shows (e.g. the code in bold, then its description)."""

    value: str
    label: str
    primary: str = ""
    secondary: str = ""
    badge: str = ""  # e.g. "Sample", "Retired"
    inactive: bool = False


def option_label(value: str, description: str) -> str:
    return f"{value}{LABEL_SEPARATOR}{description}" if description else value


class TypeaheadWidget(forms.Widget):
    """A combobox input that suggests options from `source_url` as the user types.

    source_url: URL (or lazy URL) answering GET ?q=<text>&<params> with typeahead_options_response.
    params: fixed extra query parameters, e.g. {"system": "ccsd"}.
    label_for_value: turns a stored value back into its visible text ("W8500 — Multiple ..."), for
      forms shown with an initial value or after a validation error. Defaults to the value itself.
    """

    template_name = "widgets/typeahead.html"

    def __init__(
        self,
        *,
        source_url,
        params: Mapping[str, str] | None = None,
        label_for_value: Callable[[str], str] | None = None,
        placeholder: str = "Type a code or words",
        attrs=None,
    ):
        super().__init__(attrs)
        self.source_url = source_url
        self.params = dict(params or {})
        self.label_for_value = label_for_value
        self.placeholder = placeholder

    def __deepcopy__(self, memo):
        copy = super().__deepcopy__(memo)
        copy.params = dict(self.params)
        return copy

    def format_value(self, value):
        return "" if value in (None, "") else str(value)

    def visible_text(self, value: str) -> str:
        if not value:
            return ""
        if self.label_for_value is not None:
            return self.label_for_value(value) or value
        return value

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        widget_id = widget["attrs"].get("id") or f"id_{name}"
        widget["attrs"]["id"] = widget_id
        widget.update(
            id=widget_id,
            listbox_id=f"{widget_id}_listbox",
            status_id=f"{widget_id}_status",
            search_name=f"{name}{SEARCH_SUFFIX}",
            text=self.visible_text(widget["value"]),
            source_url=str(self.source_url),
            params_json=json.dumps(self.params),
            placeholder=self.placeholder,
        )
        return context

    def render(self, name, value, attrs=None, renderer=None):
        # The project's template engine (not the form renderer's), so templates/widgets/ is found.
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))

    def value_from_datadict(self, data, files, name):
        value = (data.get(name) or "").strip()
        if value:
            return value
        # No JavaScript, or typed without choosing: take the value part of the visible text.
        text = (data.get(f"{name}{SEARCH_SUFFIX}") or "").strip()
        return text.split(LABEL_SEPARATOR, 1)[0].strip()

    def value_omitted_from_data(self, data, files, name):
        return name not in data and f"{name}{SEARCH_SUFFIX}" not in data


def escape(value) -> str:
    """django.utils.html.escape without its lazy-string wrapper (the option list calls it ~100
    times a keystroke); the same output."""
    return html.escape(str(value))


def render_typeahead_options(options: Iterable[TypeaheadOption], *, query: str) -> str:
    """The option list as HTML: one <li role="option"> per option, or the "No match" state.

    Built in Python rather than a template: it answers every keystroke, and the template engine
    (with the request's context processors) cost more than the search behind it.
    """
    html = []
    for option in options:
        inactive = " is-inactive" if option.inactive else ""
        badge = (
            f' <span class="badge{" warn" if option.inactive else ""}">{escape(option.badge)}</span>'
            if option.badge
            else ""
        )
        html.append(
            f'<li role="option" aria-selected="false" class="typeahead-option{inactive}" '
            f'data-value="{escape(option.value)}" data-label="{escape(option.label)}">'
            f'<span class="typeahead-primary">{escape(option.primary or option.value)}</span> '
            f'<span class="typeahead-secondary">{escape(option.secondary)}</span>{badge}</li>\n'
        )
    query = query.strip()
    if not html and query:
        html.append(
            '<li role="option" aria-disabled="true" aria-selected="false" class="typeahead-empty" '
            f"data-no-match>No match for “{escape(query)}”</li>"
        )
    return "".join(html)


def typeahead_options_response(request, options: Iterable[TypeaheadOption], *, query: str) -> HttpResponse:
    """The option HTML a type-ahead source URL returns (an empty query returns no options)."""
    return HttpResponse(render_typeahead_options(options, query=query))
