from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from openpractice.accounts import services, throttle
from openpractice.accounts.forms import ApiTokenForm, EmailLoginForm
from openpractice.accounts.models import ApiToken
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.redirects import safe_next


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    """Django's login, refusing further attempts after repeated failures."""

    template_name = "accounts/login.html"
    authentication_form = EmailLoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        email = request.POST.get("username", "")
        if throttle.is_locked_out(email=email, client_ip=throttle.client_ip(request)):
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, ValidationError(form.error_messages["throttled"], code="throttled"))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        throttle.record_failure(email=self.request.POST.get("username", ""), client_ip=throttle.client_ip(self.request))
        return super().form_invalid(form)

    def form_valid(self, form):
        throttle.clear_failures(email=form.get_user().email)
        return super().form_valid(form)

    def get_redirect_url(self):
        # The site's one check of a `next` URL (openpractice/redirects.py), as on every other page.
        return safe_next(self.request, self.redirect_field_name)


@require_capability(Capability.VIEW_RECORDS)
def api_tokens(request):
    form = ApiTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _, new_token = services.create_api_token(user=request.user, practice=request.practice, name=form.cleaned_data["name"])
        form = ApiTokenForm()
    tokens = ApiToken.objects.filter(user=request.user, practice=request.practice)
    return render(request, "accounts/api_tokens.html", {"form": form, "tokens": tokens, "new_token": new_token})


@require_POST
@require_capability(Capability.VIEW_RECORDS)
def api_token_revoke(request, token_id: int):
    token = get_for_practice_or_404(ApiToken.objects.filter(user=request.user), request.practice, pk=token_id)
    services.revoke_api_token(token=token)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("accounts:api_tokens")


def practitioner_profile_context(membership, form=None) -> dict:
    """The practitioner card on Settings > Users > a user's page."""
    from openpractice.accounts.forms import PractitionerProfileForm
    from openpractice.accounts.models import PractitionerProfile

    profile = PractitionerProfile.objects.filter(membership=membership).first()
    if form is None:
        initial = {f: getattr(profile, f) for f in ("healthcode_identifier", "gmc_number", "specialty",
                                                     "professional_title")} if profile else {}
        form = PractitionerProfileForm(initial=initial)
    return {"profile": profile, "profile_form": form}


@require_POST
@require_capability(Capability.MANAGE_USERS)
def practitioner_profile(request, membership_id: int):
    from openpractice.accounts.errors import AccountError
    from openpractice.accounts.forms import PractitionerProfileForm
    from openpractice.practices.forms import MemberForm
    from openpractice.practices.models import Membership

    membership = get_for_practice_or_404(Membership.objects.select_related("user"), request.practice, pk=membership_id)
    form = PractitionerProfileForm(request.POST)
    if form.is_valid():
        try:
            _, warnings = services.save_practitioner_profile(membership=membership, **form.cleaned_data)
        except AccountError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            # A warning (6 digits: a GMC number without its leading zero?) shows on the card itself.
            messages.success(request, f"Practitioner details for {membership.user} saved."
                             + (" Check the warning below." if warnings else ""))
            return redirect("practices:user_edit", membership.id)
    return render(request, "accounts/user_edit.html", {
        "form": MemberForm(initial={"role": membership.role, "is_active": membership.is_active}),
        "membership": membership, "settings_tab": "users",
        **practitioner_profile_context(membership, form),
    })
