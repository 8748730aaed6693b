"""Dashboard and Settings pages: thin, they parse, call a service or selector, and render."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from openpractice.practices import selectors, services
from openpractice.practices.errors import PracticeError
from openpractice.practices.forms import (
    AddMemberForm,
    HealthcodeCredentialsForm,
    LocationForm,
    MemberForm,
    PracticeForm,
)
from openpractice.practices.middleware import SESSION_PRACTICE_KEY
from openpractice.practices.models import HealthcodeIntegration, Location, Membership
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import CAPABILITIES, Capability, Role
from openpractice.practices.tenancy import get_for_practice_or_404


def _form_error(form, exc: PracticeError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _healthcode_setup_steps(practice) -> list[dict]:
    """The rest of the Healthcode set-up guide (HEALTHCODE.md), in its order."""
    from openpractice.accounts.models import PractitionerProfile
    from openpractice.contacts.models import Contact
    from openpractice.patients.models import PatientRelationship
    from openpractice.products.models import ContractPrice

    return [
        {"label": "Give each practitioner their Healthcode identifier",
         "done": PractitionerProfile.objects.filter(practice=practice).exclude(healthcode_identifier="").exists(),
         "url": reverse("practices:user_list")},
        {"label": "Add your insurers as contacts, with their Healthcode identifier (Insurance)",
         "done": Contact.objects.filter(practice=practice, contact_type="insurer", insurer__isnull=False).exists(),
         "url": reverse("contacts:list")},
        {"label": "Add products with contract prices and codes",
         "done": ContractPrice.objects.filter(practice=practice).exists(), "url": reverse("products:list")},
        {"label": "Add patients with their insurer and registration number",
         "done": PatientRelationship.objects.filter(practice=practice, relationship_type="insurance").exists(),
         "url": reverse("patients:list")},
    ]


def _healthcode_tested(integration) -> bool:
    from openpractice.healthcode.services import is_tested

    return is_tested(integration)


@require_capability(Capability.VIEW_RECORDS)
def dashboard(request):
    practice = request.practice
    integration = HealthcodeIntegration.objects.filter(practice=practice).first()
    checklist = [
        {
            "label": "Add your practice's address and contact details",
            "done": bool(practice.address_line1 and practice.postcode),
            "url": reverse("practices:settings_practice"),
        },
        {
            "label": "Add the locations you work from",
            "done": practice.locations.exists(),
            "url": reverse("practices:location_list"),
        },
        {
            "label": "Invite your team",
            "done": practice.memberships.count() > 1,
            "url": reverse("practices:user_list"),
        },
        {
            "label": "Enter your Healthcode credentials and test the connection",
            "done": _healthcode_tested(integration),
            "url": reverse("practices:integrations"),
        },
        *_healthcode_setup_steps(practice),
    ]
    return render(request, "practices/dashboard.html", {
        "checklist": checklist,
        "checklist_done": all(item["done"] for item in checklist),
        "member_count": practice.memberships.filter(is_active=True).count(),
        "location_count": practice.locations.filter(is_active=True).count(),
        "integration": integration,
    })


@require_POST
def switch_practice(request):
    practice_id = request.POST.get("practice_id", "")
    membership = selectors.active_memberships(user=request.user).filter(practice_id=practice_id or None).first()
    if membership is None:
        messages.error(request, "You are not a member of that practice.")
    else:
        request.session[SESSION_PRACTICE_KEY] = membership.practice_id
        messages.success(request, f"Switched to {membership.practice.name}.")
    return redirect("practices:dashboard")


@require_capability(Capability.MANAGE_SETTINGS)
def settings_index(request):
    return redirect("practices:settings_practice")


@require_capability(Capability.MANAGE_SETTINGS)
def settings_practice(request):
    practice = request.practice
    form = PracticeForm(request.POST or None, instance=practice)
    if request.method == "POST" and form.is_valid():
        services.update_practice(practice=practice, data=form.cleaned_data)
        messages.success(request, "Practice details saved.")
        return redirect("practices:settings_practice")
    return render(request, "practices/settings_practice.html", {
        "form": form,
        "settings_tab": "practice",
        "recent_changes": selectors.recent_changes(practice=practice),
    })


@require_capability(Capability.MANAGE_SETTINGS)
def location_list(request):
    return render(request, "practices/location_list.html", {
        "locations": selectors.practice_locations(practice=request.practice),
        "settings_tab": "locations",
    })


@require_capability(Capability.MANAGE_SETTINGS)
def location_edit(request, location_id: int | None = None):
    location = get_for_practice_or_404(Location, request.practice, pk=location_id) if location_id else None
    form = LocationForm(request.POST or None, instance=location)
    if request.method == "POST" and form.is_valid():
        try:
            if location is None:
                services.create_location(practice=request.practice, data=form.cleaned_data)
                messages.success(request, f"Location “{form.cleaned_data['name']}” added.")
            else:
                services.update_location(location=location, data=form.cleaned_data)
                messages.success(request, f"Location “{form.cleaned_data['name']}” saved.")
            return redirect("practices:location_list")
        except PracticeError as exc:
            _form_error(form, exc)
    return render(request, "practices/location_form.html", {
        "form": form, "location": location, "settings_tab": "locations",
    })


@require_capability(Capability.MANAGE_USERS)
def user_list(request):
    return render(request, "practices/user_list.html", {
        "members": selectors.practice_members(practice=request.practice),
        "settings_tab": "users",
        "roles": [(Role(r).label, [Capability(c).label for c in sorted(caps)]) for r, caps in CAPABILITIES.items()],
    })


@require_capability(Capability.MANAGE_USERS)
def user_add(request):
    form = AddMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership = services.add_member(
                practice=request.practice,
                email=data["email"],
                full_name=data["full_name"],
                role=data["role"],
                added_by=request.user,
                password=data["password"] if data["how"] == AddMemberForm.PASSWORD else None,
                base_url=request.build_absolute_uri("/"),
            )
        except PracticeError as exc:
            _form_error(form, exc)
        else:
            if data["how"] == AddMemberForm.INVITE and not membership.user.has_usable_password():
                messages.success(request, f"Invitation sent to {membership.user.email}.")
            else:
                messages.success(request, f"{membership.user} added as {membership.get_role_display()}.")
            return redirect("practices:user_list")
    return render(request, "practices/user_add.html", {"form": form, "settings_tab": "users"})


@require_capability(Capability.MANAGE_USERS)
def user_edit(request, membership_id: int):
    membership = get_for_practice_or_404(Membership.objects.select_related("user"), request.practice, pk=membership_id)
    form = MemberForm(request.POST or None, initial={"role": membership.role, "is_active": membership.is_active})
    if request.method == "POST" and form.is_valid():
        try:
            services.change_member(
                membership=membership,
                role=form.cleaned_data["role"],
                is_active=form.cleaned_data["is_active"],
                changed_by=request.user,
            )
        except PracticeError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"{membership.user} saved.")
            return redirect("practices:user_list")
    from openpractice.accounts.views import practitioner_profile_context

    return render(request, "accounts/user_edit.html", {
        "form": form, "membership": membership, "settings_tab": "users",
        **practitioner_profile_context(membership),
    })


@require_capability(Capability.MANAGE_INTEGRATIONS)
def integrations(request):
    from openpractice.healthcode.services import is_tested

    integration = HealthcodeIntegration.objects.filter(practice=request.practice).first()
    return render(request, "practices/integrations.html", {
        "integration": integration, "tested": is_tested(integration), "settings_tab": "integrations",
    })


@require_POST
@require_capability(Capability.MANAGE_INTEGRATIONS)
def healthcode_test(request):
    from openpractice.healthcode import services as healthcode_services
    from openpractice.healthcode.errors import HealthcodeSetupError

    try:
        report = healthcode_services.test_connection(practice=request.practice)
    except HealthcodeSetupError as exc:
        messages.error(request, exc.message)
    else:
        if report.ok:
            messages.success(request, "Connection to Healthcode works. " + report.message)
        else:
            messages.error(request, "Connection to Healthcode failed. " + report.message)
    return redirect("practices:integrations")


@require_capability(Capability.MANAGE_INTEGRATIONS)
def healthcode_settings(request):
    from django.conf import settings as django_settings

    integration = HealthcodeIntegration.objects.filter(practice=request.practice).first()
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
            "discovery_url": django_settings.SANDBOX_URL.rstrip("/") + "/.well-known/healthcode-discovery",
        }
    )
    form = HealthcodeCredentialsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_healthcode_credentials(practice=request.practice, **form.cleaned_data)
        except PracticeError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Healthcode credentials saved. The API key is stored encrypted.")
            return HttpResponseRedirect(reverse("practices:integrations"))
    return render(request, "practices/healthcode_form.html", {
        "form": form, "integration": integration, "settings_tab": "integrations",
    })
