"""What the task workers write about themselves: one heartbeat row per live worker, so that a
task row left "running" by a worker that died can be told from one still being worked on."""

from django.db import models


class WorkerHeartbeat(models.Model):
    # django-tasks-db's worker id (DBTaskResult.worker_ids holds it), at most 64 characters
    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.worker_id} (pid {self.pid} on {self.hostname})"
