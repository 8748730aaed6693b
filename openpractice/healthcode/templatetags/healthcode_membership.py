"""Check membership on the patient's page, which includes it without knowing Healthcode:

    {% load healthcode_membership %}{% membership_check_ready as ready %}
    {% membership_check_button relationship ready %}   (per relationship; nothing unless insurance)
    {% membership_check_help ready %}                  (once, after the list)

`ready` (the practice's credentials passed the connection test) is asked once per page."""

from django import template

from openpractice.healthcode import services

register = template.Library()


@register.simple_tag(takes_context=True)
def membership_check_ready(context) -> bool:
    practice = getattr(context.get("request"), "practice", None)
    if not practice:
        return False
    return services.is_configured(practice=practice)


@register.inclusion_tag("healthcode/_membership_check_button.html", takes_context=True)
def membership_check_button(context, relationship, ready):
    return {"relationship": relationship, "ready": ready, "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("healthcode/_membership_check_help.html")
def membership_check_help(ready):
    return {"ready": ready}
