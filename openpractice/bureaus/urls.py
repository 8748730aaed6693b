from django.urls import path

from openpractice.bureaus import views

app_name = "bureaus"

urlpatterns = [
    path("bureau/", views.queue, name="queue"),
    path("bureau/submit/", views.submit, name="submit"),
    path("bureau/fetch/", views.fetch, name="fetch"),
    path("bureau/open/", views.open_practice, name="open"),
    path("bureau/aged-debt/count/", views.count_debts, name="count_debts"),
    path("bureau/runs/<int:bureau_run_id>/", views.run_detail, name="run"),
]
