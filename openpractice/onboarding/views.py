"""Onboarding's page: a new consultant's practice from the current practice as the template. Thin:
the forms, then services.onboard_consultant."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from openpractice.domain_errors import DomainError
from openpractice.onboarding import services
from openpractice.onboarding.forms import ConsultantForm, FeeForm, HealthcodeForm, PracticeForm
from openpractice.onboarding.models import Onboarding
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability

# A lower app's refusal names its own field: which part of the form shows it.
FIELD_PARTS = {
    "name": ("practice", "name"),
    "consultant_name": ("consultant", "full_name"),
    "consultant_email": ("consultant", "email"),
    "email": ("consultant", "email"),
    "healthcode_identifier": ("consultant", "healthcode_identifier"),
    "gmc_number": ("consultant", "gmc_number"),
    "discovery_url": ("healthcode", "discovery_url"),
    "site_id": ("healthcode", "site_id"),
    "api_key_id": ("healthcode", "api_key_id"),
    "api_key": ("healthcode", "api_key"),
    "environment": ("healthcode", "environment"),
    "kind": ("fee", "kind"),
    "percentage": ("fee", "percentage"),
    "monthly_fee": ("fee", "monthly_fee"),
    "effective_from": ("fee", "effective_from"),
}


@require_capability(Capability.MANAGE_SETTINGS)
def new(request):
    data = request.POST if request.method == "POST" else None
    forms = {
        "practice": PracticeForm(data, prefix="practice"),
        "consultant": ConsultantForm(data, prefix="consultant"),
        "healthcode": HealthcodeForm(data, prefix="healthcode"),
        "fee": FeeForm(data, prefix="fee"),
    }
    problem = None
    if data is not None and all(form.is_valid() for form in forms.values()):
        practice, consultant = forms["practice"].cleaned_data, forms["consultant"].cleaned_data
        healthcode, fee = forms["healthcode"].cleaned_data, forms["fee"].cleaned_data
        try:
            done = services.onboard_consultant(
                template=request.practice,
                name=practice.pop("name"),
                details=practice,
                consultant=services.Consultant(**consultant),
                credentials=services.Credentials(**healthcode),
                fee=services.Fee(**fee) if fee["kind"] else None,
                user=request.user,
                base_url=request.build_absolute_uri("/").rstrip("/"),
            )
        except DomainError as refused:
            part, field = FIELD_PARTS.get(refused.field or "", (None, None))
            if part:
                forms[part].add_error(field, refused.message)
            else:
                problem = refused.message
        else:
            copied = ", ".join(f"{n} {what}" for what, n in done.copied.items())
            messages.success(
                request,
                f"{done.practice.name} is ready ({copied}). {done.consultant_email} is invited; switch to the practice "
                "with the practice selector.",
            )
            return redirect("onboarding:new")
    return render(
        request,
        "onboarding/new.html",
        {
            "forms": forms,
            "problem": problem,
            "done": Onboarding.objects.filter(template=request.practice).select_related("practice")[:20],
        },
        status=400 if data is not None else 200,
    )
