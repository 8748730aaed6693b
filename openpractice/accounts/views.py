import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from openpractice.accounts import selectors, services, throttle, two_factor
from openpractice.accounts.errors import AccountError
from openpractice.accounts.forms import (
    ApiTokenForm,
    EmailLoginForm,
    RecoveryCodesForm,
    TurnOffTwoFactorForm,
    TwoFactorCodeForm,
    TwoFactorSetupForm,
)
from openpractice.accounts.models import ApiToken
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.redirects import safe_next, stays_on_site


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    """Django's login, refusing further attempts after repeated failures. A person with two-factor
    on is not logged in here: they go on to the code step (login_code) with a pending sign-in."""

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
        user = form.get_user()
        throttle.clear_failures(email=user.email)
        if selectors.two_factor_device(user=user) is not None:
            two_factor.start_pending(self.request, user=user, next_url=self.get_redirect_url())
            return redirect("accounts:login_code")
        return super().form_valid(form)

    def get_redirect_url(self):
        # The site's one check of a `next` URL (openpractice/redirects.py), as on every other page.
        return safe_next(self.request, self.redirect_field_name)


TWO_FACTOR_SCOPE = "two-factor"
THROTTLED_CODES = "Too many wrong codes. Wait 15 minutes, then try again."


def _safe_next(request, url: str) -> str:
    return url if stays_on_site(request, url) else resolve_url(settings.LOGIN_REDIRECT_URL)


def _guarded(request, form, *, email: str, call):
    """Run a service that checks a code or password, throttled like the login: returns (result,
    status); on failure the form carries the error and result is None."""
    address = throttle.client_ip(request)
    if throttle.is_locked_out(email=email, client_ip=address, scope=TWO_FACTOR_SCOPE):
        form.add_error(None, ValidationError(THROTTLED_CODES, code="throttled"))
        return None, 429
    try:
        result = call()
    except AccountError as exc:
        if exc.code in {"wrong_code", "wrong_password", "throttled"}:
            throttle.record_failure(email=email, client_ip=address, scope=TWO_FACTOR_SCOPE)
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None, 200
    throttle.clear_failures(email=email, scope=TWO_FACTOR_SCOPE)
    return result, 200


@login_not_required
@never_cache
def login_code(request):
    """Sign-in, second step: the code. The person is logged in only once it is right."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    state = two_factor.pending(request)
    if state is None:
        messages.info(
            request,
            "Enter your email address and password to sign in. (A sign-in waiting for its "
            "code is dropped after a few minutes.)",
        )
        return redirect("accounts:login")
    form = TwoFactorCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        device, status = _guarded(
            request,
            form,
            email=state.user.email,
            call=lambda: services.verify_second_factor(user=state.user, code=form.cleaned_data["code"]),
        )
        if device is not None:
            two_factor.clear_pending(request)
            user = state.user
            user.otp_device = device  # django-otp records the verifying device in the new session
            auth_login(request, user, backend="openpractice.accounts.backends.EmailBackend")
            if device.name == services.RECOVERY_NAME:
                left = selectors.recovery_codes_left(user=user)
                messages.warning(
                    request,
                    f"You signed in with a recovery code; it cannot be used again. {left} "
                    "left: make new ones under Two-factor sign-in if you are running low.",
                )
            return redirect(_safe_next(request, state.next_url))
    return render(request, "accounts/login_code.html", {"form": form}, status=status)


def _two_factor_page(request, *, recovery_form=None, off_form=None, status=200):
    device = selectors.two_factor_device(user=request.user)
    return render(
        request,
        "accounts/two_factor.html",
        {
            "device": device,
            "codes_left": selectors.recovery_codes_left(user=request.user) if device else 0,
            "recovery_form": recovery_form or RecoveryCodesForm(prefix="recovery"),
            "off_form": off_form or TurnOffTwoFactorForm(prefix="off"),
            "practice_requires": bool(request.practice and request.practice.require_two_factor),
        },
        status=status,
    )


@never_cache
def two_factor_status(request):
    """Your account > Two-factor sign-in: on or off, and what you can do. Needs only a login: it
    is about the person, whatever their practice or role."""
    return _two_factor_page(request)


@never_cache
def two_factor_setup(request):
    """Scan the QR code (or type the key), then prove it with a code from the app."""
    if selectors.two_factor_device(user=request.user) is not None:
        return redirect("accounts:two_factor")
    device = services.start_two_factor(user=request.user)
    form = TwoFactorSetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = services.confirm_two_factor(user=request.user, code=form.cleaned_data["code"])
        except AccountError as exc:
            form.add_error("code", exc.message)
        else:
            request.session.cycle_key()  # more trust now: a new session id
            django_otp.login(request, device)
            # Rendered, not redirected to: the codes are shown this once and kept nowhere.
            return render(request, "accounts/two_factor_codes.html", {"codes": codes, "first_time": True})
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": two_factor.qr_svg(device.config_url),
            "secret": two_factor.secret_for_display(device),
            "required_by": request.practice if getattr(request, "two_factor_setup_required", False) else None,
        },
    )


@require_POST
@never_cache
def two_factor_recovery_codes(request):
    form = RecoveryCodesForm(request.POST, prefix="recovery")
    if not form.is_valid():
        return _two_factor_page(request, recovery_form=form)
    codes, status = _guarded(
        request,
        form,
        email=request.user.email,
        call=lambda: services.regenerate_recovery_codes(user=request.user, code=form.cleaned_data["code"]),
    )
    if codes is None:
        return _two_factor_page(request, recovery_form=form, status=status)
    return render(request, "accounts/two_factor_codes.html", {"codes": codes, "first_time": False})


@require_POST
def two_factor_turn_off(request):
    form = TurnOffTwoFactorForm(request.POST, prefix="off")
    if not form.is_valid():
        return _two_factor_page(request, off_form=form)
    _, status = _guarded(
        request,
        form,
        email=request.user.email,
        call=lambda: services.turn_off_two_factor(
            user=request.user, code=form.cleaned_data["code"], password=form.cleaned_data["password"]
        ),
    )
    if form.errors:
        return _two_factor_page(request, off_form=form, status=status)
    request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
    messages.success(request, "Two-factor sign-in is off. You now sign in with your password alone.")
    return redirect("accounts:two_factor")


@login_not_required
def admin_login(request, extra_context=None):
    """Stands in for the Django admin's own login form (accounts/admin.py): the admin signs in
    through the app's sign-in, so it is throttled and asks for the second factor."""
    target = request.GET.get("next") or reverse("admin:index")
    if not request.user.is_authenticated:
        return redirect_to_login(target, resolve_url(settings.LOGIN_URL))
    if request.user.is_active and request.user.is_staff:
        return redirect(_safe_next(request, target))
    raise PermissionDenied("Your account cannot open the administration site.")


@require_capability(Capability.VIEW_RECORDS)
def api_tokens(request):
    form = ApiTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _, new_token = services.create_api_token(
            user=request.user, practice=request.practice, name=form.cleaned_data["name"]
        )
        form = ApiTokenForm()
    tokens = ApiToken.objects.filter(user=request.user, practice=request.practice)
    return render(request, "accounts/api_tokens.html", {"form": form, "tokens": tokens, "new_token": new_token})


@require_http_methods(["GET", "POST"])
@require_capability(Capability.VIEW_RECORDS)
def api_token_revoke(request, token_id: int):
    """GET asks, naming the token; the POST revokes it."""
    token = get_for_practice_or_404(ApiToken.objects.filter(user=request.user), request.practice, pk=token_id)
    if request.method == "POST":
        services.revoke_api_token(token=token)
        messages.success(request, f"Token “{token.name}” revoked.")
        return redirect("accounts:api_tokens")
    return render(
        request,
        "confirm.html",
        {
            "title": f"Revoke token “{token.name}”?",
            "question": f"Revoke the API token “{token.name}” ({token.prefix}…)?",
            "explanation": "Software using it is refused from now on. This cannot be undone: make a new token "
            "if it is needed again.",
            "confirm_label": f"Revoke token “{token.name}”",
            "cancel_url": reverse("accounts:api_tokens"),
            "cancel_label": "Keep it",
        },
    )
