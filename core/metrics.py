"""Prometheus metrics of this process; every module that counts something imports it from here."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

OPEN_STREAMS = Gauge(
    "dealstream_open_streams", "SSE streams open on this process", ["feed"], registry=REGISTRY
)
EVENTS_PUBLISHED = Counter(
    "dealstream_events_published_total",
    "Events stored and published by this process",
    ["type"],
    registry=REGISTRY,
)
EVENTS_RECEIVED = Counter(
    "dealstream_events_received_total",
    "Events this process received for its streams",
    ["type"],
    registry=REGISTRY,
)
EVENTS_DELIVERED = Counter(
    "dealstream_events_delivered_total",
    "Event deliveries written to SSE streams",
    ["type"],
    registry=REGISTRY,
)
DELIVERY_LAG = Histogram(
    "dealstream_delivery_lag_seconds",
    "Time from an event's storage to its hand-off to local streams",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
STREAMS_DROPPED = Counter(
    "dealstream_streams_dropped_total", "Streams closed by the server", ["reason"], registry=REGISTRY
)
RATE_LIMIT_REJECTIONS = Counter(
    "dealstream_rate_limit_rejections_total", "Requests refused with 429", registry=REGISTRY
)
STAGE_DURATION = Histogram(
    "dealstream_pipeline_stage_seconds",
    "Duration of pipeline stages",
    ["pipeline", "stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
JOBS_BY_STATUS = Gauge(
    "dealstream_jobs",
    "Jobs by status (all organisations), read at scrape time",
    ["status"],
    registry=REGISTRY,
)
OLDEST_JOB_AGE = Gauge(
    "dealstream_job_oldest_age_seconds",
    "Age of the oldest job in a waiting or running status (queued: since creation;"
    " started: since its run began), 0 when there is none; read at scrape time",
    ["status"],
    registry=REGISTRY,
)
JOBS_AWAITING_DISPATCH = Gauge(
    "dealstream_jobs_awaiting_dispatch",
    "Queued jobs whose task message the broker has not accepted yet (the outbox), read at scrape time",
    registry=REGISTRY,
)
BROKER_QUEUE_MESSAGES = Gauge(
    "dealstream_broker_queue_messages",
    "Task messages waiting in the broker's queue for a worker, read at scrape time",
    ["queue"],
    registry=REGISTRY,
)


# Gauges read at scrape time (the jobs table, the broker) are refreshed by the app that owns
# them; it registers its refresher here, so the metrics endpoint needs to know none of them.
_SCRAPE_REFRESHERS: list[Callable[[], None]] = []


def refresh_at_scrape(refresh: Callable[[], None]) -> None:
    """Have `refresh` run before every scrape of this process's metrics (once per function)."""
    if refresh not in _SCRAPE_REFRESHERS:
        _SCRAPE_REFRESHERS.append(refresh)


def refresh_scraped_gauges() -> None:
    """Run every registered refresher, in registration order."""
    for refresh in _SCRAPE_REFRESHERS:
        refresh()
