"""Celery tasks of the deals app: thin, they take a job id and call the pipeline."""

from __future__ import annotations

from celery import shared_task

from deals import pipeline
from deals.services import BATCH_DOCUMENT_JOB, STATEMENT_JOB
from jobs.handle import JobRun
from jobs.job_task import JobTask


class StatementJob(JobTask):
    """A statement upload or a batch document: one statement through deals/pipeline.py."""

    job_types = (STATEMENT_JOB, BATCH_DOCUMENT_JOB)

    def abandon(self, run: JobRun, reason: str) -> None:
        pipeline.abandon_statement(run, reason)


@shared_task(base=StatementJob, name="deals.tasks.process_statement")
def process_statement(job_id: str) -> None:
    """Process the statement of one job (a single upload or a batch document)."""
    pipeline.run_statement_job(job_id)
