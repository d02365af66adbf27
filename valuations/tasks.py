"""Background work of valuations: the `valuation` job type and the retention task."""

from __future__ import annotations

import logging

from celery import shared_task

from jobs.job_task import JobTask
from valuations import pipeline, services
from valuations.serializers import ValueDecisionRequestSerializer

logger = logging.getLogger(__name__)


@shared_task(name="valuations.tasks.prune_valuations")
def prune_valuations() -> int:
    """Delete valuations older than VALUATION_RETENTION_DAYS (scheduled hourly)."""
    deleted = services.prune_valuations()
    if deleted:
        logger.info("Pruned %s valuations past their retention period", deleted)
    return deleted


class ValuationJob(JobTask):
    """`POST /api/v1/jobs {"type": "valuation", "input": {...}}`: valuations/pipeline.py."""

    job_types = ("valuation",)
    input_serializer = ValueDecisionRequestSerializer


@shared_task(base=ValuationJob, name="valuations.tasks.run_valuation_job")
def run_valuation_job(job_id: str) -> None:
    """Run a `valuation` job (valuations/pipeline.py)."""
    pipeline.run_valuation_job(job_id)
