"""Job types are Celery tasks: a task whose base is a `JobTask` names the job types it runs.

Celery's own task registry is the list of job types; nothing else registers them:

    class ValuationJob(JobTask):
        job_types = ("valuation",)
        input_serializer = ValueDecisionRequestSerializer

    @shared_task(base=ValuationJob, name="valuations.tasks.run_valuation_job")
    def run_valuation_job(job_id: str) -> None:
        pipeline.run_valuation_job(job_id)

The task receives the job id only. A job type's class says:

* `job_types`: the `Job.type` values this task runs;
* `billable` (default True): whether its jobs count against the monthly quota;
* `input_serializer`: with one, `POST /api/v1/jobs {"type", "input"}` creates such jobs
  (types without one are created by their own endpoints);
* `abandon(run, reason)`: called by the reaper (inside its transaction, the job row locked)
  for a job whose workers kept dying; it must end the job through `run.fail(reason)` and
  settle whatever the job was working on. By default the job is just failed.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from celery import Task, current_app

if TYPE_CHECKING:
    from rest_framework.serializers import Serializer

    from jobs.handle import JobRun

    _TaskBase = Task[[str], None]  # a job task takes the job id
else:
    _TaskBase = Task


class JobTask(_TaskBase):
    """Base class of every job type's task; see the module docstring."""

    job_types: tuple[str, ...] = ()
    billable: bool = True
    input_serializer: type[Serializer[Any]] | None = None
    # A worker holds one message per process; the reaper, not Celery, recovers lost runs
    # (CELERY_TASK_REJECT_ON_WORKER_LOST is off, docs/jobs.md "Lost workers").
    acks_late = True
    ignore_result = True

    def abandon(self, run: JobRun, reason: str) -> None:
        """End a job whose workers kept dying (the reaper calls this)."""
        run.fail(reason)


@functools.cache
def _import_task_modules() -> None:
    # A worker imports every app's tasks module at start; a web process does it on first use,
    # through the same discovery (`app.autodiscover_tasks()` in config/celery.py).
    current_app.loader.import_default_modules()


def job_tasks() -> dict[str, JobTask]:
    """Every job type Celery knows, with the task that runs it."""
    _import_task_modules()
    return {
        job_type: task
        for task in list(current_app.tasks.values())
        if isinstance(task, JobTask)
        for job_type in task.job_types
    }


def task_for(job_type: str) -> JobTask | None:
    """The task that runs jobs of `job_type`, or None for a type no task runs."""
    return job_tasks().get(job_type)


def creatable_job_types() -> list[str]:
    """Names of the types `POST /jobs` accepts (those with an input serializer), sorted."""
    return sorted(name for name, task in job_tasks().items() if task.input_serializer is not None)
