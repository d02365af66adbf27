"""Queue-health gauges on /metrics: job counts, oldest job age per status, outbox, broker depth."""

from __future__ import annotations

import datetime
from typing import Any

import redis
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import Organization
from jobs.models import Job, JobStatus


def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = Client(REMOTE_ADDR="127.0.0.1").get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_it_reports_job_counts_and_the_oldest_waiting_and_running_jobs(org: Organization) -> None:
    now = timezone.now()
    old = Job.objects.create(organization=org, type="statement")
    Job.objects.filter(pk=old.pk).update(created_at=now - datetime.timedelta(minutes=10))
    Job.objects.create(organization=org, type="statement")
    Job.objects.create(
        organization=org,
        type="statement",
        status=JobStatus.STARTED,
        started_at=now - datetime.timedelta(minutes=3),
    )
    Job.objects.create(organization=org, type="statement", status=JobStatus.COMPLETED)
    Job.objects.create(organization=org, type="statement", dispatch_due_at=now)

    samples = scrape()

    assert samples[("dealstream_jobs", (("status", "queued"),))] == 3
    assert samples[("dealstream_jobs", (("status", "started"),))] == 1
    assert samples[("dealstream_jobs", (("status", "completed"),))] == 1
    assert samples[("dealstream_jobs", (("status", "failed"),))] == 0
    assert 600 <= samples[("dealstream_job_oldest_age_seconds", (("status", "queued"),))] < 660
    assert 180 <= samples[("dealstream_job_oldest_age_seconds", (("status", "started"),))] < 240
    assert samples[("dealstream_jobs_awaiting_dispatch", ())] == 1


def test_it_reports_zero_age_when_nothing_waits(db: None) -> None:
    samples = scrape()
    assert samples[("dealstream_job_oldest_age_seconds", (("status", "queued"),))] == 0
    assert samples[("dealstream_job_oldest_age_seconds", (("status", "started"),))] == 0


def test_it_reads_the_broker_queue_depth_from_redis(db: None, settings: Any) -> None:
    settings.JOB_RUNNER = "celery"
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    settings.CELERY_TASK_DEFAULT_QUEUE = "queue-health-test"
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("queue-health-test")
    client.rpush("queue-health-test", "a", "b", "c")
    try:
        samples = scrape()
    finally:
        client.delete("queue-health-test")
        client.close()
    assert samples[("dealstream_broker_queue_messages", (("queue", "queue-health-test"),))] == 3


def test_it_omits_the_broker_depth_when_the_broker_is_away(db: None, settings: Any) -> None:
    settings.JOB_RUNNER = "celery"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    samples = scrape()
    assert not any(name == "dealstream_broker_queue_messages" for name, _ in samples)
    assert ("dealstream_jobs", (("status", "queued"),)) in samples
