"""Dashboard and Settings pages: thin, they parse, call a service or selector, and render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from openpractice.accounts.models import User
from openpractice.practices import selectors, services
from openpractice.practices.errors import PracticeError
from openpractice.practices.forms import (
    AcceptInvitationForm,
    HealthcodeCredentialsForm,
    InviteMemberForm,
    LocationForm,
    MemberForm,
    PracticeForm,
)
from openpractice.practices.middleware import SESSION_PRACTICE_KEY
from openpractice.practices.models import (
    HealthcodeIntegration,
    Invitation,
    InvitationStatus,
    Location,
    Membership,
)
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
        "invitations": selectors.open_invitations(practice=request.practice),
        "settings_tab": "users",
        "roles": [(Role(r).label, [Capability(c).label for c in sorted(caps)]) for r, caps in CAPABILITIES.items()],
    })


@require_capability(Capability.MANAGE_USERS)
def user_add(request):
    form = InviteMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation = services.invite_member(
                practice=request.practice, email=data["email"], full_name=data["full_name"], role=data["role"],
                invited_by=request.user, base_url=request.build_absolute_uri("/"),
            )
        except PracticeError as exc:
            _form_error(form, exc)
        else:
            # The same words whether or not the email has an account anywhere.
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("practices:user_list")
    return render(request, "practices/user_add.html", {"form": form, "settings_tab": "users"})


@require_POST
@require_capability(Capability.MANAGE_USERS)
def invitation_resend(request, invitation_id: int):
    invitation = get_for_practice_or_404(Invitation, request.practice, pk=invitation_id)
    try:
        services.resend_invitation(invitation=invitation, sent_by=request.user,
                                   base_url=request.build_absolute_uri("/"))
    except PracticeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invitation sent again to {invitation.email}. The earlier link no longer works.")
    return redirect("practices:user_list")


@require_capability(Capability.MANAGE_USERS)
def invitation_revoke(request, invitation_id: int):
    """A confirmation page naming the email; the POST withdraws the invitation."""
    invitation = get_for_practice_or_404(Invitation, request.practice, pk=invitation_id)
    if request.method == "POST":
        try:
            services.revoke_invitation(invitation=invitation, revoked_by=request.user)
        except PracticeError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Invitation to {invitation.email} revoked. Its link no longer works.")
        return redirect("practices:user_list")
    return render(request, "practices/invitation_revoke.html", {"invitation": invitation, "settings_tab": "users"})


@login_not_required
def invitation_accept(request, token: str):
    """The link in the invitation email. Someone with an account accepts while signed in as the
    invited email; someone new chooses a password here. Refused with the reason once the link is
    expired, revoked or used."""
    invitation = selectors.invitation_for_token(token=token)
    if invitation is None or invitation.status != InvitationStatus.PENDING:
        reason = "unknown" if invitation is None else invitation.status
        return render(request, "practices/invitation_invalid.html",
                      {"message": services.INVITATION_REFUSALS[reason]}, status=404 if invitation is None else 410)
    context = {"invitation": invitation, "practice": invitation.practice}
    if selectors.account_exists(email=invitation.email):
        signed_in_as_invitee = (request.user.is_authenticated
                                and request.user.email.lower() == invitation.email)
        if request.method == "POST" and signed_in_as_invitee:
            try:
                membership = services.accept_invitation(token=token, user=request.user)
            except PracticeError as exc:
                messages.error(request, exc.message)
                return redirect(request.path)
            else:
                request.session[SESSION_PRACTICE_KEY] = membership.practice_id
                messages.success(request, f"You have joined {membership.practice.name} as "
                                          f"{membership.get_role_display()}.")
                return redirect("practices:dashboard")
        login_url = f"{reverse('accounts:login')}?{urlencode({'next': request.get_full_path()})}"
        return render(request, "practices/invitation_accept.html", {
            **context, "signed_in_as_invitee": signed_in_as_invitee, "login_url": login_url,
        })
    form = AcceptInvitationForm(User(email=invitation.email, full_name=invitation.full_name),
                                request.POST or None, initial={"full_name": invitation.full_name})
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.accept_invitation_with_new_account(
                token=token, full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["new_password1"])
        except PracticeError as exc:
            _form_error(form, exc)
        else:
            if request.user.is_authenticated:
                logout(request)  # someone else was signed in on this browser: the new login is theirs
            messages.success(request, f"Your password is set and you have joined {membership.practice.name}. "
                                      f"Sign in with {invitation.email}.")
            return redirect("accounts:login")
    return render(request, "practices/invitation_accept.html", {**context, "form": form})


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
