"""Operator endpoints: liveness, readiness with dependency checks, and Prometheus metrics."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from kombu import Connection
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.errors import json_error
from api.metrics_access import metrics_refusal
from core.metrics import REGISTRY, refresh_scraped_gauges

STARTED_AT = time.monotonic()
CHECK_TIMEOUT_SECONDS = 2.0


def get_only(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """GET (and HEAD) only, anything else a JSON 405.

    Exempt from CSRF: these views change nothing, and the CSRF check would otherwise
    answer a POST with 403 `csrf_failed` before the method is even looked at.
    """

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response = json_error(405, "method_not_allowed", "Use GET on this endpoint.")
            response["Allow"] = "GET, HEAD"
            return response
        return view(request)

    return wrapper


@get_only
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: answers without touching the database or any other dependency."""
    return JsonResponse({"status": "ok"})


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def check_channel_layer() -> str:
    if not settings.REDIS_URL:
        return "ok (in-memory)"
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=CHECK_TIMEOUT_SECONDS, socket_connect_timeout=CHECK_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def check_broker() -> str:
    if settings.JOB_RUNNER == "embedded":
        return "ok (embedded workers)"
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=CHECK_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, timeout=int(CHECK_TIMEOUT_SECONDS))
    return "ok"


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
}


@get_only
def status(request: HttpRequest) -> JsonResponse:
    """Readiness: 503 as soon as one dependency fails, with each check's outcome."""
    results: dict[str, dict[str, str]] = {}
    healthy = True
    for name, check in CHECKS.items():
        try:
            results[name] = {"status": check()}
        except Exception as exc:
            healthy = False
            results[name] = {"status": "error", "error": type(exc).__name__}
    body = {
        "status": "ok" if healthy else "degraded",
        "version": settings.SCORER_VERSION,
        "env": settings.APP_ENV,
        "mode": "distributed" if settings.REDIS_URL else "embedded",
        "uptime_seconds": round(time.monotonic() - STARTED_AT, 1),
        "checks": results,
    }
    return JsonResponse(body, status=200 if healthy else 503)


@get_only
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text; guarded by METRICS_TOKEN when set, else open to loopback clients only.

    Besides this process's own counters, it carries the gauges read at scrape time, such as
    the queue health read from the jobs table and the broker (jobs/queue_health.py, registered
    with `core.metrics.refresh_at_scrape`). Celery workers expose
    theirs on their own port (api/worker_metrics.py).
    """
    refusal = metrics_refusal(request.headers.get("Authorization", ""), request.META.get("REMOTE_ADDR", ""))
    if refusal is not None:
        return json_error(*refusal)
    refresh_scraped_gauges()
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
