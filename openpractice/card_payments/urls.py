from django.urls import path

from openpractice.card_payments import views

app_name = "card_payments"

urlpatterns = [
    path("settings/integrations/stripe/", views.stripe_settings, name="settings"),
    path("settings/integrations/stripe/test/", views.test_connection, name="test_connection"),
    path("settings/integrations/stripe/webhook/", views.register_webhook, name="register_webhook"),
    path("pay/<str:token>/", views.pay, name="pay"),
    path("pay/<str:token>/done/", views.paid, name="paid"),
    path("payments/stripe/webhook/<str:key>/", views.webhook, name="webhook"),
    path("payments/card/<int:card_payment_id>/refund/", views.refund, name="refund"),
]
