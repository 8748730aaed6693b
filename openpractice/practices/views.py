"""Settings pages, the practice switcher and the invitation link: thin, they parse, call a service
or selector, and render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from openpractice.accounts import services as account_services
from openpractice.accounts.errors import AccountError
from openpractice.accounts.forms import PractitionerProfileForm
from openpractice.accounts.models import PractitionerProfile, User
from openpractice.domain_errors import DomainError
from openpractice.practices import selectors, services
from openpractice.practices.errors import PracticeError
from openpractice.practices.forms import (
    AcceptInvitationForm,
    InviteMemberForm,
    LocationForm,
    MemberForm,
    PracticeForm,
)
from openpractice.practices.middleware import SESSION_PRACTICE_KEY
from openpractice.practices.models import (
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


@require_POST
def switch_practice(request):
    practice_id = request.POST.get("practice_id", "")
    membership = selectors.active_memberships(user=request.user).filter(practice_id=practice_id or None).first()
    if membership is None:
        messages.error(request, "You are not a member of that practice.")
    else:
        request.session[SESSION_PRACTICE_KEY] = membership.practice_id
        messages.success(request, f"Switched to {membership.practice.name}.")
    return redirect("home:dashboard")


@require_capability(Capability.MANAGE_SETTINGS)
def settings_index(request):
    return redirect("practices:settings_practice")


@require_capability(Capability.MANAGE_SETTINGS)
def settings_practice(request):
    practice = request.practice
    form = PracticeForm(request.POST or None, instance=practice)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_practice(practice=practice, data=form.cleaned_data)
        except PracticeError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Practice details saved.")
            return redirect("practices:settings_practice")
    return render(
        request,
        "practices/settings_practice.html",
        {
            "form": form,
            "settings_tab": "practice",
            "recent_changes": selectors.recent_changes(practice=practice),
        },
    )


@require_capability(Capability.MANAGE_SETTINGS)
def location_list(request):
    return render(
        request,
        "practices/location_list.html",
        {
            "locations": selectors.practice_locations(practice=request.practice),
            "settings_tab": "locations",
        },
    )


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
    return render(
        request,
        "practices/location_form.html",
        {
            "form": form,
            "location": location,
            "settings_tab": "locations",
        },
    )


@require_capability(Capability.MANAGE_USERS)
def user_list(request):
    return render(
        request,
        "practices/user_list.html",
        {
            "members": selectors.practice_members(practice=request.practice),
            "invitations": selectors.open_invitations(practice=request.practice),
            "settings_tab": "users",
            "roles": [(Role(r).label, [Capability(c).label for c in sorted(caps)]) for r, caps in CAPABILITIES.items()],
        },
    )


@require_capability(Capability.MANAGE_USERS)
def user_add(request):
    form = InviteMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation = services.invite_member(
                practice=request.practice,
                email=data["email"],
                full_name=data["full_name"],
                role=data["role"],
                invited_by=request.user,
                base_url=request.build_absolute_uri("/"),
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
        services.resend_invitation(
            invitation=invitation, sent_by=request.user, base_url=request.build_absolute_uri("/")
        )
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
        return render(
            request,
            "practices/invitation_invalid.html",
            {"message": services.INVITATION_REFUSALS[reason]},
            status=404 if invitation is None else 410,
        )
    context = {"invitation": invitation, "practice": invitation.practice}
    if selectors.account_exists(email=invitation.email):
        signed_in_as_invitee = request.user.is_authenticated and request.user.email.lower() == invitation.email
        if request.method == "POST" and signed_in_as_invitee:
            try:
                membership = services.accept_invitation(token=token, user=request.user)
            except PracticeError as exc:
                messages.error(request, exc.message)
                return redirect(request.path)
            else:
                request.session[SESSION_PRACTICE_KEY] = membership.practice_id
                messages.success(
                    request, f"You have joined {membership.practice.name} as {membership.get_role_display()}."
                )
                return redirect("home:dashboard")
        login_url = f"{reverse('accounts:login')}?{urlencode({'next': request.get_full_path()})}"
        return render(
            request,
            "practices/invitation_accept.html",
            {
                **context,
                "signed_in_as_invitee": signed_in_as_invitee,
                "login_url": login_url,
            },
        )
    form = AcceptInvitationForm(
        User(email=invitation.email, full_name=invitation.full_name),
        request.POST or None,
        initial={"full_name": invitation.full_name},
    )
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.accept_invitation_with_new_account(
                token=token, full_name=form.cleaned_data["full_name"], password=form.cleaned_data["new_password1"]
            )
        except PracticeError as exc:
            _form_error(form, exc)
        else:
            if request.user.is_authenticated:
                logout(request)  # someone else was signed in on this browser: the new login is theirs
            messages.success(
                request,
                f"Your password is set and you have joined {membership.practice.name}. "
                f"Sign in with {invitation.email}.",
            )
            return redirect("accounts:login")
    return render(request, "practices/invitation_accept.html", {**context, "form": form})


def _profile_initial(profile) -> dict:
    return {f: getattr(profile, f) for f in services.PRACTITIONER_FIELDS} if profile else {}


def _user_page(request, membership, member_form, profile_form, *, status: int = 200):
    """Settings > Users > a user: the role and the practitioner details in ONE form, one Save."""
    return render(
        request,
        "accounts/user_edit.html",
        {
            "form": member_form,
            "profile_form": profile_form,
            "profile": PractitionerProfile.objects.filter(membership=membership).first(),
            "membership": membership,
            "settings_tab": "users",
            "refused": [
                form[name].label if name in form.fields else "the page"
                for form in (member_form, profile_form)
                if form.is_bound
                for name in form.errors
            ],
        },
        status=status,
    )


def _route_error(exc: DomainError, member_form, profile_form) -> None:
    """A service's refusal at the field it names, on whichever form has that field."""
    if exc.field in profile_form.fields:
        profile_form.add_error(exc.field, exc.message)
    else:
        member_form.add_error(exc.field if exc.field in member_form.fields else None, exc.message)


@require_capability(Capability.MANAGE_USERS)
def user_edit(request, membership_id: int):
    """One Save for everything on the page: role, active, practitioner details, validated
    together and saved together (save_member), or nothing saved and every typed value shown
    again with the refused field named."""
    membership = get_for_practice_or_404(Membership.objects.select_related("user"), request.practice, pk=membership_id)
    profile = PractitionerProfile.objects.filter(membership=membership).first()
    data = request.POST if request.method == "POST" else None
    member_form = MemberForm(data, initial={"role": membership.role, "is_active": membership.is_active})
    profile_form = PractitionerProfileForm(data, initial=_profile_initial(profile))
    if data is not None and member_form.is_valid() & profile_form.is_valid():  # both, so both show errors
        try:
            membership, warnings = services.save_member(
                membership=membership,
                role=member_form.cleaned_data["role"],
                is_active=member_form.cleaned_data["is_active"],
                practitioner=profile_form.cleaned_data,
                changed_by=request.user,
            )
        except (PracticeError, AccountError) as exc:
            _route_error(exc, member_form, profile_form)
        else:
            if warnings:
                # The warning (6 digits: a GMC number without its leading zero?) shows on the page.
                messages.success(request, f"{membership.user} saved. Check the warning below.")
                return redirect("practices:user_edit", membership.id)
            messages.success(request, f"{membership.user} saved.")
            return redirect("practices:user_list")
    return _user_page(request, membership, member_form, profile_form)


@require_http_methods(["GET", "POST"])
@require_capability(Capability.MANAGE_USERS)
def practitioner_profile(request, membership_id: int):
    """The practitioner details alone. GET is where a "no Healthcode identifier" message links:
    the user's page, at the field. A POST (a page open from before the one-Save page) saves the
    details alone and leaves the role as it is."""
    membership = get_for_practice_or_404(Membership.objects.select_related("user"), request.practice, pk=membership_id)
    if request.method == "GET":
        return redirect(reverse("practices:user_edit", args=[membership.id]) + "#id_healthcode_identifier")
    member_form = MemberForm(initial={"role": membership.role, "is_active": membership.is_active})
    profile_form = PractitionerProfileForm(request.POST)
    if profile_form.is_valid():
        try:
            _, warnings = account_services.save_practitioner_profile(membership=membership, **profile_form.cleaned_data)
        except AccountError as exc:
            _route_error(exc, member_form, profile_form)
        else:
            messages.success(
                request,
                f"Practitioner details for {membership.user} saved."
                + (" Check the warning below." if warnings else ""),
            )
            return redirect("practices:user_edit", membership.id)
    return _user_page(request, membership, member_form, profile_form)
