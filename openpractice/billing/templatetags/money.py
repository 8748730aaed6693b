"""`{{ amount|gbp }}`: £1,234.50 and -£10.00, on every page (a template builtin, see settings)."""

from django import template

from openpractice.billing.money import format_gbp

register = template.Library()


@register.filter
def gbp(value) -> str:
    return format_gbp(value) if value not in (None, "") else ""
