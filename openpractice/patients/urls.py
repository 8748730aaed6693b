from django.urls import path

from openpractice.patients import views

app_name = "patients"

urlpatterns = [
    path("patients/", views.patient_list, name="list"),
    path("patients/new/", views.patient_add, name="add"),
    path("patients/people-options/", views.people_options, name="people_options"),
    path("patients/<int:patient_id>/", views.patient_detail, name="detail"),
    path("patients/<int:patient_id>/edit/", views.patient_edit, name="edit"),
    path("patients/<int:patient_id>/archive/", views.patient_archive, name="archive"),
    path("patients/<int:patient_id>/relationships/", views.relationship_add, name="relationship_add"),
    path(
        "patients/<int:patient_id>/relationships/<int:relationship_id>/remove/",
        views.relationship_remove,
        name="relationship_remove",
    ),
]
