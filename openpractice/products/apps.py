from django.apps import AppConfig


class ProductsConfig(AppConfig):
    name = "openpractice.products"
    label = "products"
    verbose_name = "Products"
    nav_entries = ((30, "Products", "products:list", "view_records"),)
