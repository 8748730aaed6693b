"""Settings › Integrations: the Healthcode credentials and their connection test; and the insurer
directory's "Sync from Healthcode" (Settings › Coding › Insurers). Thin: they parse, call a
service, and render."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from openpractice.healthcode import outbound, services
from openpractice.healthcode.credentials import save_healthcode_credentials
from openpractice.healthcode.directory import sync_insurer_directory as sync_directory
from openpractice.healthcode.errors import HealthcodeSetupError, SubmissionError
from openpractice.healthcode.forms import HealthcodeCredentialsForm
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability


@require_capability(Capability.MANAGE_INTEGRATIONS)
def integrations(request):
    integration = services.integration_for(request.practice)
    return render(
        request,
        "healthcode/settings_integrations.html",
        {
            "integration": integration,
            "tested": services.is_tested(integration),
            "settings_tab": "integrations",
        },
    )


@require_POST
@require_capability(Capability.MANAGE_INTEGRATIONS)
def test_connection(request):
    try:
        report = services.test_connection(practice=request.practice)
    except HealthcodeSetupError as exc:
        messages.error(request, exc.message)
    else:
        if report.ok:
            messages.success(request, "Connection to Healthcode works. " + report.message)
        else:
            messages.error(request, "Connection to Healthcode failed. " + report.message)
    return redirect("healthcode:integrations")


@require_POST
@require_capability(Capability.MANAGE_SETTINGS)
def sync_insurer_directory(request):
    try:
        outcome = sync_directory(practice=request.practice)
    except SubmissionError as exc:  # not set up, or a reply that changed nothing
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Synced from Healthcode: {outcome.summary}")
    return redirect("coding:insurers")


@require_capability(Capability.MANAGE_INTEGRATIONS)
def credentials(request):
    integration = services.integration_for(request.practice)
    initial = (
        {
            "environment": integration.environment,
            "discovery_url": integration.discovery_url,
            "site_id": integration.site_id,
            "api_key_id": integration.api_key_id,
        }
        if integration
        else {
            "environment": "sandbox",
            "discovery_url": outbound.default_discovery_url("sandbox"),
        }
    )
    form = HealthcodeCredentialsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = save_healthcode_credentials(practice=request.practice, **form.cleaned_data)
        except HealthcodeSetupError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            typed = (form.cleaned_data.get("discovery_url") or "").strip()
            if typed and typed != saved.discovery_url:
                messages.info(
                    request,
                    f"The discovery document URL was completed to {saved.discovery_url}: Healthcode publishes "
                    "its discovery document at that path on its host.",
                )
            messages.success(request, "Healthcode credentials saved. The API key is stored encrypted.")
            return HttpResponseRedirect(reverse("healthcode:integrations"))
    return render(
        request,
        "healthcode/settings_credentials.html",
        {
            "form": form,
            "integration": integration,
            "settings_tab": "integrations",
        },
    )
