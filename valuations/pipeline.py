"""The valuation pipeline of a `valuation` job: the same steps as the REST endpoint, run
through the job handle (jobs/handle.py) with a stage boundary at each step.

Progress: 0.05 before the product is read, then 0.20 (product), 0.35 (price), 0.60 (resale),
0.90 (circularity); `completed` carries the response as `results`, committed with the stored
valuation, so a job is completed exactly when its valuation is stored.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError
from rest_framework import exceptions as drf_exceptions

from jobs.handle import JobCanceled, JobLost, JobRun, run_job
from valuations import services

logger = logging.getLogger(__name__)

INTERNAL_REASON = "The valuation failed on our side; it has been logged."


def run_valuation_job(job_id: str) -> None:
    """Claim the job and value its product (the whole body of the Celery task)."""
    with run_job(job_id) as run:
        if run is not None:
            value_for_job(run)


def value_for_job(run: JobRun) -> None:
    """Value the job's product and end the job; never raises for bad input or an unreadable page."""
    try:
        request = services.parse_request(run.job.input)
    except drf_exceptions.ValidationError as exc:
        # Inputs are validated when the job is created; this catches rows written otherwise.
        run.fail(f"Invalid input: {_first_error(exc)}")
        return
    try:
        _run_stages(run, request)
    except JobCanceled:
        run.cancel()
    except services.ValuationFailed as exc:
        run.fail(exc.message)
    except (DatabaseError, JobLost):
        raise
    except Exception:
        logger.exception("Valuation job %s failed", run.job.pk)
        run.fail(INTERNAL_REASON)


def _run_stages(run: JobRun, request: services.ValuationRequest) -> None:
    first_step = "Reading the product page" if request.override is None else "Scoring the product"
    run.stage("start", _progress("fetching"), first_step)
    resolved = services.resolve_product(request, run.job.organization_id)
    run.stage("product", _progress("product"), services.describe_stage("product", {}, resolved))
    partials, response = services.score(resolved.product)
    for stage, data in partials:
        run.stage(stage, _progress(stage), services.describe_stage(stage, data))
    with run.transaction():
        valuation = services.record_valuation(
            run.job.organization_id, request, resolved, response, request_id=run.job.request_id
        )
        run.complete(valuation.result)


def _progress(stage: str) -> float:
    return services.STAGE_PERCENT[stage] / 100


def _first_error(exc: drf_exceptions.ValidationError) -> str:
    detail: Any = exc.detail
    while isinstance(detail, dict | list) and detail:
        detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
    return str(detail)
