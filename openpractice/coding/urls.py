from django.urls import path

from openpractice.coding import views

app_name = "coding"

urlpatterns = [
    # type-ahead sources (HTML fragments for openpractice.widgets.TypeaheadWidget)
    path("coding/options/codes/", views.code_options, name="code_options"),
    path("coding/options/insurers/", views.insurer_options, name="insurer_options"),
    # Settings > Coding
    path("settings/coding/", views.coding_settings, name="settings"),
    path("settings/coding/find/", views.code_lookup, name="lookup"),
    path("settings/coding/imports/new/", views.import_new, name="import_new"),
    path("settings/coding/imports/<int:import_id>/", views.import_detail, name="import_detail"),
    path("settings/coding/imports/<int:import_id>/progress/", views.import_progress, name="import_progress"),
    path("settings/coding/imports/<int:import_id>/apply/", views.import_apply, name="import_apply"),
    path("settings/coding/imports/<int:import_id>/discard/", views.import_discard, name="import_discard"),
    path("settings/coding/insurers/", views.insurer_list, name="insurers"),
    path("settings/coding/insurers/new/", views.insurer_edit, name="insurer_add"),
    path("settings/coding/insurers/<int:insurer_id>/", views.insurer_edit, name="insurer_edit"),
]
