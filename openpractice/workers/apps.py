from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "openpractice.workers"
    label = "workers"
    verbose_name = "Task workers"
