from django.urls import path

from openpractice.receivables import views

app_name = "receivables"

urlpatterns = [
    path("patients/<int:patient_id>/account/", views.patient_account, name="patient_account"),
    path("collections/accounts/", views.accounts_owing, name="accounts"),
    path("settings/collections/", views.schedule_settings, name="schedule"),
]
