from django.urls import path

from openpractice.reports import views

app_name = "reports"

urlpatterns = [
    path("reports/", views.index, name="index"),
    path("reports/aged-debt/", views.aged_debt, name="aged_debt"),
    path("reports/bills/", views.bills, name="bills"),
    path("reports/payments/", views.payments, name="payments"),
    path("reports/days-to-payment/", views.days, name="days"),
]
