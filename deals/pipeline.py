"""The statement pipeline: `extracting_text` → `parsing` → `screening` → `scoring` → `completed`.

Plain functions: the Celery task only hands over the job id. Parsing and scoring are the pure
functions of deals.parsing and deals.underwriting; this module runs them in order through the
job handle (jobs/handle.py), and at every stage boundary asks deals.statement_outcomes to check for
cancellation and publish the stage.

Events of one statement, in order:
  processing.started (extracting_text, 0), processing.progress (parsing, 25),
  processing.progress (screening, 50), processing.progress (scoring, 75),
  processing.completed (completed, 100, health_score)   or   processing.failed (error)
and of its job: status (queued), status (started), progress ×4 (0, 0.25, 0.5, 0.75; the stage
as message), completed / failed / canceled, usage.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError

from core.metrics import STAGE_DURATION
from deals import statement_outcomes
from deals.categories import categorize_statement
from deals.models import Statement
from deals.parsing import ParsedStatement, StatementError
from deals.parsing.limits import MB, ParseLimits
from deals.parsing.sandbox import SandboxedParse
from deals.underwriting import compute_statement_metrics, screen_transactions
from jobs.handle import JobCanceled, JobLost, JobRun, run_job

logger = logging.getLogger(__name__)

PIPELINE = "statement"
STAGES = {"extracting_text": 0, "parsing": 25, "screening": 50, "scoring": 75}
TIME_LIMIT_REASON = "Processing took too long and was stopped"
INTERNAL_REASON = "An internal error stopped the processing of this statement"
# Test-only: with APP_ENV=test, this many seconds of sleep before every stage boundary, so
# an end-to-end test can kill a worker or cancel a job while a statement is mid-pipeline.
TEST_DELAY_VARIABLE = "DEALSTREAM_TEST_STAGE_DELAY_SECONDS"


def run_statement_job(job_id: str) -> None:
    """Claim the job and process its statement (the whole body of the Celery task)."""
    with run_job(job_id) as run:
        if run is not None:
            process_statement(run)


def process_statement(run: JobRun) -> None:
    """Run the stages for the job's statement and settle the outcome; never raises for bad input.

    A StatementError fails the statement with its reason and the deal goes on; a database
    error propagates (the handle gives the job back to the queue), and so does JobLost (the
    handle stops quietly: another run owns the job).
    """
    statement = Statement.objects.filter(job_id=run.job.pk).first()
    if statement is None:
        # The statement was deleted (its deal with it) while the job waited.
        run.fail("The statement no longer exists")
        return
    try:
        _run_stages(run, statement)
    except JobCanceled:
        statement_outcomes.cancel_statement(run, statement.pk)
    except StatementError as exc:
        statement_outcomes.fail_statement(run, statement.pk, exc.reason)
    except SoftTimeLimitExceeded:
        statement_outcomes.fail_statement(run, statement.pk, TIME_LIMIT_REASON)
    except (DatabaseError, JobLost):
        raise
    except Exception:
        logger.exception("Statement %s failed unexpectedly", statement.pk)
        statement_outcomes.fail_statement(run, statement.pk, INTERNAL_REASON)


def abandon_statement(run: JobRun, reason: str) -> None:
    """The reaper gives up on the job (its workers kept dying): fail the statement, settle the deal."""
    statement = Statement.objects.filter(job_id=run.job.pk).only("pk").first()
    if statement is None:
        run.fail(reason)
        return
    statement_outcomes.fail_statement(run, statement.pk, reason)


def parse_limits(time_left: float) -> ParseLimits:
    """The budgets an uploaded file is read within, from the settings and the job's time left."""
    return ParseLimits(
        max_pdf_pages=settings.PDF_MAX_PAGES,
        max_inflated_bytes=settings.PDF_MAX_INFLATED_MB * MB,
        max_stream_inflated_bytes=settings.PDF_MAX_STREAM_INFLATED_MB * MB,
        memory_bytes=settings.PARSE_MEMORY_LIMIT_MB * MB,
        time_seconds=max(1.0, min(settings.PARSE_TIME_LIMIT_SECONDS, time_left)),
    )


def _run_stages(run: JobRun, statement: Statement) -> None:
    # Celery enforces JOB_TIME_LIMIT_SECONDS on a worker; the embedded runner cannot stop a
    # thread, so the same soft limit is checked at every stage boundary and bounds the reading.
    deadline = time.monotonic() + settings.CELERY_TASK_SOFT_TIME_LIMIT
    with ExitStack() as child:
        with _stage(run, statement, "extracting_text", deadline):
            # The untrusted file is read in a child process with hard limits; it reports once the
            # text is extracted and again once it is parsed, and is killed if this block is left
            # early (cancellation, the task's time limit).
            limits = parse_limits(time_left=deadline - time.monotonic())
            reading = child.enter_context(SandboxedParse(_read_statement_file(statement), limits))
            reading.extracted()
        with _stage(run, statement, "parsing", deadline):
            parsed = parse_document(reading)
    with _stage(run, statement, "screening", deadline):
        # Categorised once: screening, metrics and the stored rows share one revenue treatment.
        categories, revenue = categorize_statement(parsed)
        screening = screen_transactions(parsed.transactions, revenue=revenue)
    with _stage(run, statement, "scoring", deadline):
        metrics = compute_statement_metrics(parsed, revenue=revenue)
        _test_delay()
        statement_outcomes.complete_statement(
            run, statement, parsed, screening, metrics, categories=categories, revenue=revenue
        )


def _read_statement_file(statement: Statement) -> bytes:
    """The uploaded bytes, from MEDIA_ROOT (shared by web and worker processes)."""
    with statement.file.open("rb") as handle:
        return handle.read()


def parse_document(reading: SandboxedParse) -> ParsedStatement:
    """The "parsing" stage: wait for the child's statement, which must hold transactions."""
    parsed = reading.parsed()
    if not parsed.transactions:
        raise StatementError("The statement contains no transactions")
    return parsed


@contextmanager
def _stage(run: JobRun, statement: Statement, stage: str, deadline: float) -> Iterator[None]:
    _test_delay()
    if time.monotonic() > deadline:
        raise SoftTimeLimitExceeded()
    statement_outcomes.begin_stage(run, statement, stage, STAGES[stage])
    started = time.perf_counter()
    try:
        yield
    finally:
        STAGE_DURATION.labels(PIPELINE, stage).observe(time.perf_counter() - started)


def _test_delay() -> None:
    if settings.APP_ENV != "test":
        return
    raw = os.environ.get(TEST_DELAY_VARIABLE, "")
    if raw:
        time.sleep(float(raw))
