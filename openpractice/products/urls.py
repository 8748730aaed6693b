from django.urls import path

from openpractice.products import views

app_name = "products"

urlpatterns = [
    path("products/", views.product_list, name="list"),
    path("products/new/", views.product_edit, name="add"),
    path("products/<int:product_id>/", views.product_detail, name="detail"),
    path("products/<int:product_id>/edit/", views.product_edit, name="edit"),
    path("products/<int:product_id>/archive/", views.product_archive, name="archive"),
    path("products/<int:product_id>/contracts/", views.contract_add, name="contract_add"),
    path(
        "products/<int:product_id>/contracts/<int:contract_id>/remove/", views.contract_remove, name="contract_remove"
    ),
]
