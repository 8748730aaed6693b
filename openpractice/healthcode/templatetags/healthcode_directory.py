"""Healthcode's part of the coding app's insurer directory page: the "Sync from Healthcode"
button and when the directory was last synced (coding knows nothing of Healthcode). Reads only."""

from __future__ import annotations

from django import template

from openpractice.healthcode import services

register = template.Library()


@register.inclusion_tag("healthcode/_directory_sync.html", takes_context=True)
def insurer_directory_sync(context):
    request = context.get("request")
    practice = getattr(request, "practice", None)
    integration = services.integration_for(practice) if practice is not None else None
    return {
        "integration": integration,
        "ready": services.is_tested(integration),
        "can_manage_integrations": context.get("can_manage_integrations"),
        "csrf_token": context.get("csrf_token"),
    }
