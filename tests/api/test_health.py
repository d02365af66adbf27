"""/healthz, /status (with a Redis that goes away) and /metrics access rules."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.test import Client

from tests.e2e.stack import free_port


def test_healthz_answers_without_the_database() -> None:
    # No `db` fixture: pytest-django would fail any query made here.
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_status_reports_every_check(db: None) -> None:
    response = Client().get("/status")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "channel_layer", "broker"}
    assert body["version"]
    assert body["env"]
    assert body["uptime_seconds"] >= 0


@pytest.fixture
def private_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed for this test"
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "private redis did not start"
            time.sleep(0.05)
    yield url, process
    process.kill()
    process.wait()


def test_status_reports_a_stopped_redis_as_503(
    db: None, settings: Any, private_redis: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, process = private_redis
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url
    settings.JOB_RUNNER = "celery"
    assert Client().get("/status").status_code == 200

    process.terminate()
    process.wait()
    response = Client().get("/status")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["channel_layer"]["status"] == "error"
    assert body["checks"]["broker"]["status"] == "error"


def test_metrics_are_served_to_loopback_clients(db: None) -> None:
    response = Client(REMOTE_ADDR="127.0.0.1").get("/metrics")
    assert response.status_code == 200
    assert b"dealstream_open_streams" in response.content


def test_metrics_refuse_remote_clients_without_a_token(db: None) -> None:
    response = Client(REMOTE_ADDR="203.0.113.7").get("/metrics")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_metrics_token_is_required_when_set(db: None, settings: Any) -> None:
    settings.METRICS_TOKEN = "s3cret-token"
    client = Client(REMOTE_ADDR="203.0.113.7")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
