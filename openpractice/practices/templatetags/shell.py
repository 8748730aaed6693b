"""The signed-in shell's fixed markup (base.html), built once per process rather than on every
page: `{% shell_assets %}` (the icon, style sheets and scripts of <head>) and `{% shell_url name %}`
(the sidebar's own links). Each `{% static %}` and `{% url %}` looked its answer up again on every
request, a quarter of the shell's rendering (issue 18); neither answer changes while the process
runs (the static manifest is read at start-up, the URLconf is fixed). Kept per DEBUG (static
names are unhashed then) and script prefix, and forgotten when a test changes either setting."""

from __future__ import annotations

import functools

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

ICON = "img/favicon.svg"
STYLES = ("vendor/pico-2.1.1.jade.min.css", "css/app.css")
SCRIPTS = ("vendor/htmx-2.0.11.min.js", "js/app.js", "js/unsaved_changes.js")


@functools.lru_cache(maxsize=8)
def _assets(debug: bool, script_prefix: str) -> SafeString:
    return format_html(
        '<link rel="icon" href="{}" type="image/svg+xml">\n{}\n{}',
        static(ICON),
        format_html_join("\n", '  <link rel="stylesheet" href="{}">', ((static(path),) for path in STYLES)),
        format_html_join("\n", '  <script src="{}" defer></script>', ((static(path),) for path in SCRIPTS)),
    )


@functools.lru_cache(maxsize=64)
def _url(name: str, script_prefix: str) -> str:
    return reverse(name)


@functools.lru_cache(maxsize=8)
def _static(path: str, debug: bool, script_prefix: str) -> str:
    return static(path)


@register.simple_tag
def shell_assets() -> SafeString:
    return _assets(settings.DEBUG, get_script_prefix())


@register.simple_tag
def shell_url(name: str) -> str:
    """`{% url name %}` for a link without arguments, reversed once."""
    return _url(name, get_script_prefix())


@register.simple_tag
def shell_static(path: str) -> str:
    return _static(path, settings.DEBUG, get_script_prefix())


@receiver(setting_changed)
def _forget(*, setting, **kwargs):
    if setting in ("DEBUG", "ROOT_URLCONF", "STATIC_URL", "STORAGES", "INSTALLED_APPS"):
        _assets.cache_clear()
        _url.cache_clear()
        _static.cache_clear()
