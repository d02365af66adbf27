"""Celery tasks of the deals app: thin, they take a job id and call the pipeline."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from deals import pipeline, services
from jobs.services import MAX_ATTEMPTS, JobType, register_job_type


@shared_task(
    name="deals.tasks.process_statement",
    acks_late=True,
    # Transient database errors (a failover, a deadlock victim): the job was given back to the
    # queue by jobs.services.running, so the retry claims it again.
    autoretry_for=(DatabaseError,),
    max_retries=MAX_ATTEMPTS,
    retry_backoff=True,
    retry_backoff_max=30,
    ignore_result=True,
)
def process_statement(job_id: str) -> None:
    """Process the statement of one job (a single upload or a batch document)."""
    pipeline.run_statement_job(job_id)


register_job_type(
    JobType(services.STATEMENT_JOB, process_statement, on_abandoned=services.abandon_statement_job)
)
register_job_type(
    JobType(services.BATCH_DOCUMENT_JOB, process_statement, on_abandoned=services.abandon_statement_job)
)
