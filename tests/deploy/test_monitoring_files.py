"""The Prometheus scrape configuration and the Grafana dashboard in docker/ match the code:
every series the dashboard queries is one the processes export, every exported metric has a
panel, and Prometheus scrapes web processes and workers on the ports compose gives them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from core.metrics import REGISTRY

DOCKER = Path(__file__).resolve().parents[2] / "docker"
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}


def exported_series() -> dict[str, str]:
    """Series name -> the metric it belongs to, for every metric of api/metrics.py."""
    series = {}
    for family in REGISTRY.collect():
        for suffix in SUFFIXES[family.type]:
            series[family.name + suffix] = family.name
    return series


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DOCKER / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_it_queries_only_series_the_processes_export() -> None:
    series = exported_series()
    used = {name for expr in dashboard_expressions() for name in re.findall(r"\bdealstream_\w+", expr)}
    assert used, "the dashboard queries no Dealstream metric"
    assert used <= set(series), used - set(series)


def test_it_has_a_panel_for_every_exported_metric() -> None:
    series = exported_series()
    used = {
        series[name] for expr in dashboard_expressions() for name in re.findall(r"\bdealstream_\w+", expr)
    }
    assert used == set(series.values()), set(series.values()) - used


def test_it_scrapes_web_processes_and_workers_on_their_compose_ports() -> None:
    scrape = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    jobs: dict[str, Any] = {job["job_name"]: job for job in scrape["scrape_configs"]}
    worker_env = compose["services"]["worker"]["environment"]
    expected = {
        "dealstream-web": ("web", 8000),
        "dealstream-worker": ("worker", int(worker_env["WORKER_METRICS_PORT"])),
    }
    for job_name, (service, port) in expected.items():
        job = jobs[job_name]
        assert job["authorization"]["type"] == "Bearer"  # METRICS_TOKEN: the scraper is not loopback
        discovery = job["dns_sd_configs"][0]
        assert discovery["names"] == [service]
        assert discovery["port"] == port
    assert worker_env["PROMETHEUS_MULTIPROC_DIR"]
