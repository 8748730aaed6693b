from django.urls import path

from openpractice.remittances import views

app_name = "remittances"

urlpatterns = [
    path("remittances/", views.batch_list, name="list"),
    path("remittances/fetch/", views.fetch_now, name="fetch"),
    path("remittances/fetch/<int:run_id>/", views.fetch_progress, name="fetch_progress"),
    path("remittances/review/", views.review_queue, name="review"),
    path("remittances/shortfalls/", views.shortfalls, name="shortfalls"),
    path("remittances/import/", views.import_file, name="import"),
    path("remittances/import/<int:pending_id>/confirm/", views.import_confirm, name="import_confirm"),
    path("remittances/<int:batch_id>/", views.batch_detail, name="batch"),
    path("remittances/lines/<int:line_id>/match/", views.match_line, name="match"),
    path("remittances/lines/<int:line_id>/set-aside/", views.set_aside, name="set_aside"),
    path("remittances/lines/<int:line_id>/shortfall/", views.transfer, name="transfer"),
    path("remittances/lines/<int:line_id>/who-owes/", views.override, name="override"),
    path("remittances/allocations/<int:allocation_id>/reverse/", views.reverse, name="reverse"),
]
