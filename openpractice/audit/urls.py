from django.urls import path

from openpractice.audit import views

app_name = "audit"

urlpatterns = [
    path("settings/read-log/", views.read_log, name="read_log"),
]
