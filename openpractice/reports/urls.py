from django.urls import path

from openpractice.reports import consultant_views, views, views_collections

app_name = "reports"

urlpatterns = [
    path("reports/", views.index, name="index"),
    path("reports/aged-debt/", views.aged_debt, name="aged_debt"),
    path("reports/bills/", views.bills, name="bills"),
    path("reports/payments/", views.payments, name="payments"),
    path("reports/days-to-payment/", views.days, name="days"),
    path("reports/collection/", views_collections.collection, name="collection"),
    path("reports/write-offs/", views_collections.write_offs, name="write_offs"),
    path("reports/consultant/", consultant_views.report, name="consultant"),
    path("reports/consultant/save/", consultant_views.save, name="consultant_save"),
    path("reports/consultant/send/", consultant_views.send, name="consultant_send"),
    path("reports/consultant/settings/", consultant_views.settings, name="consultant_settings"),
]
