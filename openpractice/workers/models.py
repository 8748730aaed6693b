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


class ScheduledJobRun(models.Model):
    """One run of a scheduled job for one period (workers/scheduler.py): the day's chase run, the
    month's consultant reports, the hour's remittance fetch. Written in the same transaction as the job's work (it queues tasks
    in this database), so a run that crashed left nothing and runs again; the unique period means a
    second scheduler, or a restart, finds it done."""

    job = models.CharField(max_length=64)
    # The first day of the period the run is for: the day (daily jobs), the 1st (monthly jobs).
    due_on = models.DateField()
    # The local hour the period begins on that day (hourly jobs); 0 for daily and monthly jobs.
    hour = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    # What the job said it did, or why it failed (empty when it worked).
    outcome = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "due_on", "hour"], name="scheduled_job_run_once_per_slot")
        ]

    def __str__(self) -> str:
        return (
            f"{self.job} for {self.due_on}"
            + (f" {self.hour:02d}:00" if self.hour else "")
            + (" (failed)" if self.error else "")
        )
