from __future__ import annotations

from django import forms


class StripeKeysForm(forms.Form):
    publishable_key = forms.CharField(
        label="Publishable key",
        max_length=200,
        help_text="Starts pk_test_ (test mode) or pk_live_. Stripe Dashboard › Developers › API keys.",
    )
    secret_key = forms.CharField(
        label="Secret key",
        required=False,
        max_length=300,
        widget=forms.PasswordInput(render_value=False),
        help_text="Starts sk_test_ or sk_live_ (a restricted key rk_… works too). Stored encrypted and never shown "
        "again; leave blank to keep the one set.",
    )
    webhook_secret = forms.CharField(
        label="Webhook signing secret",
        required=False,
        max_length=300,
        widget=forms.PasswordInput(render_value=False),
        help_text="Starts whsec_: the signing secret of the webhook endpoint below in your Stripe Dashboard. Stored "
        "encrypted; leave blank to keep the one set, or use “Register webhook with Stripe” to have it made for you.",
    )


class RefundForm(forms.Form):
    amount = forms.DecimalField(label="Amount to refund (£)", min_value=0.01, max_digits=12, decimal_places=2)
    reason = forms.CharField(label="Reason", max_length=200)
