"""A worker's metrics endpoint (api/worker_metrics.py): the /metrics access rule, its routes,
and the refusal to start a worker metrics port without a multiprocess directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from api.worker_metrics import metrics_app

ROOT = Path(__file__).resolve().parents[2]


def call(path: str = "/metrics", method: str = "GET", **environ: str) -> tuple[str, dict[str, str], bytes]:
    env: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": method, **environ}
    setup_testing_defaults(env)
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        answer["status"], answer["headers"] = status, dict(headers)

    body = b"".join(metrics_app(env, start_response))
    return answer["status"], answer["headers"], body


@pytest.fixture(autouse=True)
def multiproc_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))


def test_it_serves_loopback_clients_without_a_token() -> None:
    status, headers, _ = call(REMOTE_ADDR="127.0.0.1")
    assert status == "200 OK"
    assert headers["Content-Type"].startswith("text/plain")


def test_it_refuses_remote_clients_without_a_token() -> None:
    status, _, body = call(REMOTE_ADDR="203.0.113.7")
    assert status == "403 Forbidden"
    assert json.loads(body)["error"]["code"] == "forbidden"


def test_it_requires_the_token_when_set(settings: Any) -> None:
    settings.METRICS_TOKEN = "s3cret-token"
    assert call(REMOTE_ADDR="127.0.0.1")[0] == "401 Unauthorized"
    assert call(REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer wrong")[0] == "401 Unauthorized"
    assert call(REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer s3cret-token")[0] == "200 OK"


def test_it_answers_json_errors_off_its_one_route() -> None:
    status, _, body = call("/other", REMOTE_ADDR="127.0.0.1")
    assert status == "404 Not Found"
    assert json.loads(body)["error"]["code"] == "not_found"
    status, headers, _ = call(method="POST", REMOTE_ADDR="127.0.0.1")
    assert status == "405 Method Not Allowed"
    assert headers["Allow"] == "GET, HEAD"


def test_it_refuses_a_metrics_port_without_a_multiprocess_directory() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["WORKER_METRICS_PORT"] = "9100"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR" in result.stderr
