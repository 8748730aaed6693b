from django.urls import path

from openpractice.contacts import views

app_name = "contacts"

urlpatterns = [
    path("contacts/", views.contact_list, name="list"),
    path("contacts/new/", views.contact_edit, name="add"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="detail"),
    path("contacts/<int:contact_id>/edit/", views.contact_edit, name="edit"),
    path("contacts/<int:contact_id>/archive/", views.contact_archive, name="archive"),
]
