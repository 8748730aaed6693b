from django.urls import path

from openpractice.healthcode import views

app_name = "healthcode"

urlpatterns = [
    path("settings/integrations/healthcode/log/", views.exchange_list, name="exchanges"),
    path("settings/integrations/healthcode/log/<int:exchange_id>/", views.exchange_detail, name="exchange"),
]
