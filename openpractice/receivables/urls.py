from django.urls import path

from openpractice.receivables import statement_views, views, views_insurer

app_name = "receivables"

urlpatterns = [
    path("patients/<int:patient_id>/account/", views.patient_account, name="patient_account"),
    path("collections/", views.work_queue, name="queue"),
    path("collections/debts/<int:invoice_id>/", views.debt_detail, name="debt"),
    path("collections/accounts/", views.accounts_owing, name="accounts"),
    path("settings/collections/", views.schedule_settings, name="schedule"),
    path("collections/runs/", views.run_list, name="runs"),
    path("collections/runs/new/", views.run_now, name="run_now"),
    path("collections/runs/<int:chase_run_id>/", views.run_review, name="run"),
    path("collections/runs/<int:chase_run_id>/letters/", views.run_letters, name="run_letters"),
    path("collections/disputes/", views_insurer.dispute_list, name="disputes"),
    path("collections/disputes/<int:verdict_id>/", views_insurer.dispute_detail, name="dispute"),
    path("collections/disputes/<int:verdict_id>/letter.pdf", views_insurer.dispute_letter_pdf, name="dispute_pdf"),
    path("collections/insurers/", views_insurer.insurer_debt_list, name="insurer_debt"),
    # Statements of account (statement_views).
    path("patients/<int:patient_id>/account/statement.pdf", statement_views.statement_download, name="statement_pdf"),
    path("patients/<int:patient_id>/account/statement/send/", statement_views.statement_send, name="statement_send"),
    path("collections/statements/", statement_views.statement_run_start, name="statement_run_start"),
    path("collections/statements/<int:statement_run_id>/", statement_views.statement_run, name="statement_run"),
    path(
        "collections/statements/<int:statement_run_id>/progress/",
        statement_views.statement_run_progress,
        name="statement_run_progress",
    ),
    path(
        "collections/statements/<int:statement_run_id>/pdf/",
        statement_views.statement_run_pdf,
        name="statement_run_pdf",
    ),
]
