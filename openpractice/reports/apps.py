from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "openpractice.reports"
    label = "reports"
    verbose_name = "Reports"
    nav_entries = ((50, "Reports", "reports:index", "view_records"),)

    def ready(self) -> None:
        # the schedule's registry (workers, a lower layer) is filled once the apps are loaded
        from openpractice.reports.consultant_tasks import queue_consultant_reports
        from openpractice.workers.scheduler import MONTHLY, Job, register_job

        register_job(
            Job(
                "consultant_reports",
                MONTHLY,
                "CONSULTANT_REPORTS_HOUR",
                queue_consultant_reports,
                "last month's consultant report of every practice that sends one (manage.py send_consultant_reports)",
            )
        )
