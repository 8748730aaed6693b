"""Card payments' pages. Thin: parse, call a service or selector, render.

- Settings › Integrations › Stripe (manage_integrations): the keys, "Test connection",
  "Register webhook with Stripe".
- The patient's "Pay online" page (public, reached from a signed link): GET shows what is owed and
  writes nothing; its button (POST) goes to the link's Stripe Checkout Session that is still open,
  or opens one (a few per link and per address in ten minutes; then 429 "Too many attempts").
- The webhook (public, csrf-exempt): Stripe's signed events, verified with the practice's signing
  secret before anything is read.
- Refund a card payment (billing)."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import stripe
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from openpractice.billing.models import Invoice
from openpractice.card_payments import links, selectors, services
from openpractice.card_payments.errors import CardPaymentError, TooManyAttempts
from openpractice.card_payments.forms import RefundForm, StripeKeysForm
from openpractice.card_payments.models import CardPayment, CheckoutSession, StripeIntegration
from openpractice.card_payments.stripe_client import webhook_secret
from openpractice.patients.models import Patient
from openpractice.practices.models import Practice
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.redirects import redirect_to_next

log = logging.getLogger(__name__)


def webhook_url(request, integration: StripeIntegration) -> str:
    return request.build_absolute_uri(reverse("card_payments:webhook", kwargs={"key": integration.webhook_key}))


# -- settings ------------------------------------------------------------------------------------
@require_capability(Capability.MANAGE_INTEGRATIONS)
def stripe_settings(request):
    integration = selectors.integration_for(request.practice)
    form = StripeKeysForm(
        request.POST or None, initial={"publishable_key": integration.publishable_key} if integration else None
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.save_stripe_keys(practice=request.practice, **form.cleaned_data)
        except CardPaymentError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, "Stripe keys saved. The secret key and signing secret are stored encrypted.")
            return HttpResponseRedirect(reverse("healthcode:integrations"))
    return render(
        request,
        "card_payments/settings_stripe.html",
        {
            "form": form,
            "integration": integration,
            "webhook_url": webhook_url(request, integration) if integration else "",
            "settings_tab": "integrations",
        },
    )


@require_POST
@require_capability(Capability.MANAGE_INTEGRATIONS)
def test_connection(request):
    try:
        ok, message = services.test_connection(practice=request.practice)
    except CardPaymentError as exc:
        messages.error(request, exc.message)
    else:
        (messages.success if ok else messages.error)(request, ("Connection to Stripe works. " if ok else "") + message)
    return redirect("healthcode:integrations")


@require_POST
@require_capability(Capability.MANAGE_INTEGRATIONS)
def register_webhook(request):
    integration = selectors.integration_for(request.practice)
    try:
        if integration is None:
            raise CardPaymentError("Enter the Stripe keys first.", code="not_set_up")
        services.register_webhook_endpoint(practice=request.practice, url=webhook_url(request, integration))
    except CardPaymentError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Stripe now sends payment events here; its signing secret is stored encrypted.")
    return redirect("healthcode:integrations")


# -- paying --------------------------------------------------------------------------------------
def _link_or_404(token: str):
    link = links.read_token(token)
    if link is None:
        raise Http404("This payment link is not valid.")
    practice = get_object_or_404(Practice, pk=link.practice_id)
    patient = get_object_or_404(Patient, pk=link.patient_id, practice=practice)
    invoice = (
        get_object_or_404(Invoice, pk=link.invoice_id, practice=practice, patient=patient) if link.invoice_id else None
    )
    return practice, patient, invoice


STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"


def _pay_page_policy() -> str:
    """The site's policy, but the "Pay" form may lead to Stripe Checkout: the browser holds a
    form's redirect to form-action too (and, in development, the stub's checkout page)."""
    policy = settings.CONTENT_SECURITY_POLICY
    origins = [STRIPE_CHECKOUT_ORIGIN]
    if settings.STRIPE_API_BASE:
        parts = urlsplit(settings.STRIPE_API_BASE)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return policy.replace("form-action 'self'", "form-action 'self' " + " ".join(origins))


@login_not_required
def pay(request, token: str):
    practice, patient, invoice = _link_or_404(token)
    error, status, retry_after = "", 200, None
    if request.method == "POST":
        here = request.build_absolute_uri(reverse("card_payments:pay", kwargs={"token": token}))
        try:
            session = services.open_checkout(
                practice=practice,
                patient=patient,
                invoice=invoice,
                success_url=here + "done/?session={CHECKOUT_SESSION_ID}",
                cancel_url=here,
                client_ip=request.META.get("REMOTE_ADDR", ""),
            )
        except TooManyAttempts as exc:
            error, status, retry_after = exc.message, 429, exc.retry_after
        except CardPaymentError as exc:
            error, status = exc.message, 400
        else:
            return HttpResponseRedirect(session.url)
    owed = [invoice] if invoice else list(selectors.owed_invoices(practice=practice, patient_id=patient.pk))
    owed = [i for i in owed if i.balance > 0]
    response = render(
        request,
        "card_payments/pay.html",
        {
            "practice": practice,
            "patient": patient,
            "invoice": invoice,
            "owed": owed,
            "total": sum((i.balance for i in owed), 0),
            "error": error,
            "ready": selectors.is_ready(selectors.integration_for(practice)),
        },
        status=status,
    )
    response["Content-Security-Policy"] = _pay_page_policy()
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@login_not_required
def paid(request, token: str):
    practice, patient, invoice = _link_or_404(token)
    session = CheckoutSession.objects.filter(
        practice=practice, patient=patient, session_id=request.GET.get("session", "")
    ).first()
    recorded = session is not None and session.payments.exists()
    return render(
        request,
        "card_payments/paid.html",
        {"practice": practice, "patient": patient, "session": session, "recorded": recorded},
    )


# -- the webhook ---------------------------------------------------------------------------------
@csrf_exempt
@login_not_required
@require_POST
def webhook(request, key: str):
    integration = StripeIntegration.objects.select_related("practice").filter(webhook_key=key).first()
    if integration is None:
        return JsonResponse({"error": "No webhook endpoint at this address."}, status=404)
    secret = webhook_secret(integration)
    if not secret:
        return JsonResponse(
            {"error": "This practice has no webhook signing secret set (Settings › Integrations › Stripe)."}, status=400
        )
    try:
        stripe.Webhook.construct_event(request.body, request.headers.get("Stripe-Signature"), secret)
    except stripe.SignatureVerificationError as exc:
        log.warning("Stripe webhook for practice %s: bad signature (%s)", integration.practice_id, exc)
        return JsonResponse(
            {"error": f"The Stripe-Signature header did not verify with this endpoint's signing secret: {exc}"},
            status=400,
        )
    except ValueError as exc:
        return JsonResponse({"error": f"The body is not a Stripe event: {exc}"}, status=400)
    try:
        event = json.loads(request.body)
        row, first = services.handle_event(practice=integration.practice, event=event)
    except CardPaymentError as exc:
        return JsonResponse({"error": exc.message}, status=400)
    return JsonResponse({"received": True, "repeat": not first, "outcome": row.outcome, "detail": row.detail})


# -- refunds -------------------------------------------------------------------------------------
@require_POST
@require_capability(Capability.BILLING)
def refund(request, card_payment_id: int):
    payment = get_for_practice_or_404(CardPayment, request.practice, pk=card_payment_id)
    form = RefundForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    else:
        try:
            services.refund_card_payment(practice=request.practice, card_payment=payment, **form.cleaned_data)
        except CardPaymentError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Refunded £{form.cleaned_data['amount']:.2f} to the card through Stripe.")
    return redirect_to_next(request, "billing:list")
