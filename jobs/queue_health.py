"""Queue-health gauges, read at scrape time from the jobs table and the broker.

Every query here is one indexed aggregate or one Redis command, so a scrape every few
seconds costs nothing noticeable. Each web process reports the same figures: a dashboard
takes `max()` over instances rather than a sum.
"""

from __future__ import annotations

import logging
from typing import cast

import redis
from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from core.metrics import BROKER_QUEUE_MESSAGES, JOBS_AWAITING_DISPATCH, JOBS_BY_STATUS, OLDEST_JOB_AGE
from jobs.models import Job, JobStatus

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 1.0


def refresh_queue_gauges() -> None:
    """Set job counts per status, oldest waiting/running job age, outbox size and broker depth."""
    counts = dict(Job.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    for job_status in JobStatus.values:
        JOBS_BY_STATUS.labels(job_status).set(counts.get(job_status, 0))

    oldest = Job.objects.aggregate(
        queued=Min("created_at", filter=Q(status=JobStatus.QUEUED)),
        started=Min("started_at", filter=Q(status=JobStatus.STARTED)),
        owed=Count("id", filter=Q(dispatch_due_at__isnull=False)),
    )
    now = timezone.now()
    for job_status in (JobStatus.QUEUED, JobStatus.STARTED):
        since = oldest[job_status.value]
        OLDEST_JOB_AGE.labels(job_status.value).set(max(0.0, (now - since).total_seconds()) if since else 0)
    JOBS_AWAITING_DISPATCH.set(oldest["owed"])

    depth = broker_queue_depth()
    if depth is None:
        BROKER_QUEUE_MESSAGES.clear()  # no figure rather than a stale one
    else:
        BROKER_QUEUE_MESSAGES.labels(settings.CELERY_TASK_DEFAULT_QUEUE).set(depth)


def broker_queue_depth() -> int | None:
    """Messages waiting in the job queue on a Redis broker; None without one or when it is away.

    Celery's Redis transport keeps a queue as a list named after it, so its length is the
    number of messages not yet taken by a worker (those taken but unacknowledged are not in it).
    """
    url = settings.CELERY_BROKER_URL
    if settings.JOB_RUNNER != "celery" or not url.startswith(("redis://", "rediss://")):
        return None
    client = redis.Redis.from_url(
        url, socket_timeout=BROKER_TIMEOUT_SECONDS, socket_connect_timeout=BROKER_TIMEOUT_SECONDS
    )
    try:
        return cast(int, client.llen(settings.CELERY_TASK_DEFAULT_QUEUE))  # a sync client
    except redis.RedisError as exc:
        # A scrape must not fail because the broker is away; /status reports that outage.
        logger.warning("broker queue depth unavailable: %s", type(exc).__name__)
        return None
    finally:
        client.close()
