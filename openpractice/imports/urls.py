from django.urls import path

from openpractice.imports import views

app_name = "imports"

urlpatterns = [
    path("settings/import/", views.start, name="start"),
    path("settings/import/help/", views.help_page, name="help"),
    path("settings/import/<int:data_import_id>/", views.detail, name="detail"),
    path("settings/import/<int:data_import_id>/columns/", views.columns, name="columns"),
    path("settings/import/<int:data_import_id>/check/", views.check, name="check"),
    path("settings/import/<int:data_import_id>/post/", views.post, name="post"),
    path("settings/import/<int:data_import_id>/progress/", views.progress, name="progress"),
]
