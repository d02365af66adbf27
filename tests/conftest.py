"""Shared fixtures: organisations, keys, an API client, and the mandatory-services check."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import ApiKey, Organization
from tests.log_leaks import DETECTOR, attach, masked

# Every log line of the run goes through this detector; a key in any of them fails the run.
LOG_KEY_DETECTOR = DETECTOR


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2
        ):
            return True
    except OSError:
        return False


def pytest_configure(config: pytest.Config) -> None:
    """In CI the service-backed tests are mandatory: a missing service fails the run."""
    if os.environ.get("DEALSTREAM_REQUIRE_SERVICES") != "1":
        return
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    problems = []
    if not database_url.startswith("postgres"):
        problems.append("DATABASE_URL must point at PostgreSQL")
    elif not _reachable(database_url, 5432):
        problems.append(f"PostgreSQL is not reachable at {urlparse(database_url).netloc}")
    if not redis_url.startswith("redis"):
        problems.append("REDIS_URL must point at Redis")
    elif not _reachable(redis_url, 6379):
        problems.append(f"Redis is not reachable at {urlparse(redis_url).netloc}")
    if shutil.which("redis-server") is None:
        problems.append("redis-server is not installed (the fault drills start their own)")
    if not os.path.exists("/usr/bin/chromium"):
        problems.append("Debian's chromium is not installed (make browser)")
    if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
        problems.append("nginx is not installed (make browser installs nginx-light for the proxy tests)")
    if problems:
        pytest.exit("Required services missing: " + "; ".join(problems), returncode=3)


@pytest.fixture(autouse=True)
def _logs_carry_no_keys() -> None:
    # Attached before each test: importing the ASGI module re-runs the logging configuration.
    assert attach(LOG_KEY_DETECTOR) > 0, "the LOGGING setting installed no redacting handler"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when any log line carried an API key, and show where."""
    if not LOG_KEY_DETECTOR.leaks:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "API keys found in log output", red=True)
        for log_format, line in LOG_KEY_DETECTOR.leaks[:20]:
            reporter.write_line(f"[{log_format}] {masked(line)}")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _test_settings(settings: Any) -> Iterator[None]:
    # Jobs run synchronously after commit so a test sees their outcome.
    settings.JOB_RUNNER = "inline"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def org(db: None) -> Organization:
    return Organization.objects.create(name="Acme Lending")


@pytest.fixture
def other_org(db: None) -> Organization:
    return Organization.objects.create(name="Rival Capital")


@pytest.fixture
def make_key(db: None) -> Callable[..., str]:
    def make(organization: Organization, scopes: list[str] | None = None, **fields: Any) -> str:
        key, raw = ApiKey.create_key(organization, name=fields.pop("name", "test"), scopes=scopes)
        if fields:
            ApiKey.objects.filter(pk=key.pk).update(**fields)
        return raw

    return make


@pytest.fixture
def api_key(org: Organization, make_key: Callable[..., str]) -> str:
    return make_key(org)


@pytest.fixture
def api(api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def anon() -> APIClient:
    return APIClient()
