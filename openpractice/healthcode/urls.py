from django.urls import path

from openpractice.healthcode import membership_views, settings_views, views

app_name = "healthcode"

urlpatterns = [
    path("settings/integrations/healthcode/log/", views.exchange_list, name="exchanges"),
    path("settings/integrations/healthcode/log/<int:exchange_id>/", views.exchange_detail, name="exchange"),
    path("settings/integrations/", settings_views.integrations, name="integrations"),
    path("settings/integrations/healthcode/", settings_views.credentials, name="settings"),
    path("settings/integrations/healthcode/test/", settings_views.test_connection, name="test_connection"),
    path("patients/<int:patient_id>/relationships/<int:relationship_id>/check-membership/",
         membership_views.check_membership, name="check_membership"),
]
