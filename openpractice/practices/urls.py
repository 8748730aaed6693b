from django.urls import path

from openpractice.practices import views

app_name = "practices"

urlpatterns = [
    path("practice/switch/", views.switch_practice, name="switch"),
    path("settings/", views.settings_index, name="settings"),
    path("settings/practice/", views.settings_practice, name="settings_practice"),
    path("settings/locations/", views.location_list, name="location_list"),
    path("settings/locations/new/", views.location_edit, name="location_add"),
    path("settings/locations/<int:location_id>/", views.location_edit, name="location_edit"),
    path("settings/users/", views.user_list, name="user_list"),
    path("settings/users/new/", views.user_add, name="user_add"),
    path("settings/users/invitations/<int:invitation_id>/resend/", views.invitation_resend, name="invitation_resend"),
    path("settings/users/invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation"),
    path("settings/users/<int:membership_id>/", views.user_edit, name="user_edit"),
    path(
        "settings/users/<int:membership_id>/practitioner/",
        views.practitioner_profile,
        name="practitioner_profile",
    ),
]
