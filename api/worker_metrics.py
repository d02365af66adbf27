"""A Celery worker's metrics endpoint: its pool processes' counters, served on WORKER_METRICS_PORT.

Why a port per worker fed by prometheus_client's multiprocess mode, rather than the web
`/metrics` reading the workers' files: workers and web processes run on different hosts
or containers in distributed mode and share no filesystem, whereas each worker host can
always be scraped. Within one worker the prefork pool's processes come and go (they are
forked, recycled, killed on a time limit), so each writes its samples to files in
PROMETHEUS_MULTIPROC_DIR and the worker's main process, which outlives them, sums those
files at scrape time: one target per worker, counters that survive a pool process's
replacement, and no port per pool process for Prometheus to discover.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from api.errors import json_error
from api.metrics_access import metrics_refusal

logger = logging.getLogger(__name__)

StartResponse = Any  # wsgiref's start_response callable


def multiproc_dir() -> Path:
    return Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def reset_multiproc_dir() -> None:
    """Start the worker with an empty directory: files of a previous run would be summed in.

    Called in the worker's main process before the pool forks, so no live process loses
    its samples; one directory per worker (two workers sharing one would wipe each other).
    """
    directory = multiproc_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)


def forget_process(pid: int) -> None:
    """A pool process exits: drop its live gauges (its counters and histograms stay summed)."""
    multiprocess.mark_process_dead(pid, str(multiproc_dir()))


def metrics_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """WSGI: GET /metrics under the same access rule as the web `/metrics`."""
    if environ.get("PATH_INFO") != "/metrics":
        return _respond(start_response, json_error(404, "not_found", "Metrics are at /metrics."))
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        response = json_error(405, "method_not_allowed", "Use GET on this endpoint.")
        response["Allow"] = "GET, HEAD"
        return _respond(start_response, response)
    refusal = metrics_refusal(environ.get("HTTP_AUTHORIZATION", ""), environ.get("REMOTE_ADDR", ""))
    if refusal is not None:
        return _respond(start_response, json_error(*refusal))
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(multiproc_dir()))
    body = generate_latest(registry)
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


def _respond(start_response: StartResponse, response: Any) -> list[bytes]:
    start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
    return [response.content]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would drown the worker's log; errors still go to stderr."""


def serve(port: int, host: str = "0.0.0.0") -> WSGIServer:  # noqa: S104 (the access rule guards it)
    """Serve /metrics on `port` from a daemon thread of the worker's main process."""
    server = make_server(host, port, metrics_app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    logger.info("worker metrics on port %s", port)
    return server
