"""Background work of valuations: the `valuation` job type and the retention task."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import DatabaseError, transaction
from rest_framework import exceptions as drf_exceptions

from jobs.models import Job
from jobs.services import (
    JobCanceled,
    JobLost,
    JobType,
    cancel_job,
    checkpoint,
    complete_job,
    fail_job,
    record_progress,
    register_job_type,
    running,
)
from valuations import services
from valuations.models import Valuation
from valuations.serializers import ValueDecisionRequestSerializer

logger = logging.getLogger(__name__)


@shared_task(name="valuations.tasks.prune_valuations")
def prune_valuations() -> int:
    """Delete valuations older than VALUATION_RETENTION_DAYS (scheduled hourly)."""
    deleted = services.prune_valuations()
    if deleted:
        logger.info("Pruned %s valuations past their retention period", deleted)
    return deleted


def _first_error(exc: drf_exceptions.ValidationError) -> str:
    detail: Any = exc.detail
    while isinstance(detail, dict | list) and detail:
        detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
    return str(detail)


def _finish(job: Job, ending: str, detail: str = "") -> None:
    with transaction.atomic():
        if ending == "canceled":
            cancel_job(job)
        else:
            fail_job(job, detail)


@shared_task(
    name="valuations.tasks.run_valuation_job",
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=3,
)
def run_valuation_job(job_id: str) -> None:
    """Run a `valuation` job: the same service as the REST endpoint, with job progress per stage.

    Progress: 0.05 before the product is read, then 0.20 (product), 0.35 (price),
    0.60 (resale), 0.90 (circularity); `completed` carries the response as `results`.
    """
    with running(job_id) as job:
        if job is None:
            return
        try:
            parsed = services.parse_request(job.input)
        except drf_exceptions.ValidationError as exc:
            # Inputs are validated when the job is created; this catches rows written otherwise.
            _finish(job, "failed", f"Invalid input: {_first_error(exc)}")
            return

        def on_stage(stage: str, data: dict[str, Any]) -> None:
            # Each stage is a cancellation point; a canceled job stops before the next one.
            with transaction.atomic():
                current = checkpoint(job)
                record_progress(
                    current, services.STAGE_PERCENT[stage] / 100, services.describe_stage(stage, data)
                )

        def on_stored(valuation: Valuation) -> None:
            # In the valuation's transaction: a job is completed exactly when its valuation is stored.
            complete_job(job, valuation.result)

        try:
            first_step = "Reading the product page" if parsed.override is None else "Scoring the product"
            with transaction.atomic():
                record_progress(checkpoint(job), 0.05, first_step)
            services.value_product(
                job.organization_id, parsed, request_id=job.request_id, on_stage=on_stage, on_stored=on_stored
            )
        except JobCanceled:
            _finish(job, "canceled")
        except JobLost:
            logger.info("Valuation job %s was taken over by another run; stopping", job_id)
        except services.ValuationFailed as exc:
            _finish(job, "failed", exc.message)
        except DatabaseError:
            raise  # transient: `running` gives the job back and Celery retries it
        except Exception:
            logger.exception("Valuation job %s failed", job_id)
            _finish(job, "failed", "The valuation failed on our side; it has been logged.")


register_job_type(
    JobType("valuation", run_valuation_job, billable=True, input_serializer=ValueDecisionRequestSerializer)
)
