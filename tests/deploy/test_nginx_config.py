"""The example reverse proxy (docker/nginx.conf): `nginx -t` accepts it, and the directives that
streams, rate limits and deploys depend on are there, on the paths the application serves.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

CONFIG = Path(__file__).resolve().parents[2] / "docker" / "nginx.conf"


def directives() -> str:
    """The configuration without comments, one directive per `;`-terminated chunk."""
    return "\n".join(line.split("#", 1)[0] for line in CONFIG.read_text().splitlines())


def block(pattern: str) -> str:
    """The body of the first `location` whose header matches `pattern` (no nested blocks)."""
    match = re.search(pattern + r"[^{]*\{([^}]*)\}", directives())
    assert match, f"no block matching {pattern!r}"
    return match.group(1)


def stream_location_regex() -> re.Pattern[str]:
    match = re.search(r"location ~ (\S+) \{", directives())
    assert match
    return re.compile(match.group(1))


def seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m)?", value).groups()  # type: ignore[union-attr]
    return float(number) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[unit]


def test_it_matches_every_stream_path_and_nothing_else() -> None:
    streams = [
        reverse("events-org"),
        reverse("events-deal", args=[42]),
        reverse("events-batch", args=["bat_01J"]),
        reverse("events-job", args=["job_01J"]),
        reverse("value-decision-stream"),
        reverse("value-decision-stream-get"),
    ]
    regex = stream_location_regex()
    for path in streams:
        assert regex.search(path), path
    for path in [reverse("events-log"), "/api/v1/deals", "/api/v1/jobs/job_01J", "/metrics"]:
        assert not regex.search(path), path


def test_it_streams_unbuffered_with_a_read_timeout_above_the_heartbeat() -> None:
    streams = block(r"location ~ ")
    assert re.search(r"\bproxy_buffering\s+off;", streams)
    read_timeout = re.search(r"\bproxy_read_timeout\s+(\S+);", streams)
    assert read_timeout
    assert seconds(read_timeout.group(1)) > 3 * float(settings.SSE_HEARTBEAT_SECONDS)
    # A refused connection (a stopping process) moves on to the next process; an answer never does.
    retry = re.search(r"\bproxy_next_upstream\s+([^;]+);", streams)
    assert retry
    assert retry.group(1).split() == ["error", "timeout"]


def test_it_serves_http2_forwards_the_client_address_and_drains_on_reload() -> None:
    text = directives()
    assert re.search(r"\blisten\s+443\s+ssl\s+http2;", text)
    # Overwritten, never appended to: a client cannot choose the address it is counted as.
    assert re.search(r"\bproxy_set_header\s+X-Forwarded-For\s+\$remote_addr;", text)
    assert "$proxy_add_x_forwarded_for" not in text
    shutdown = re.search(r"\bworker_shutdown_timeout\s+(\S+);", text)
    assert shutdown
    assert seconds(shutdown.group(1)) <= 30
    assert re.search(r"\breturn\s+404;", block(r"location = /metrics"))


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed to make a throwaway certificate"
    certificate, key = tmp_path / "dealstream.crt", tmp_path / "dealstream.key"
    argv = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
    subprocess.run(
        [*argv, "-keyout", str(key), "-out", str(certificate)],
        check=True,
        capture_output=True,
    )
    config = tmp_path / "nginx.conf"
    config.write_text(
        CONFIG.read_text()
        .replace("/etc/nginx/tls/dealstream.crt", str(certificate))
        .replace("/etc/nginx/tls/dealstream.key", str(key))
    )
    result = subprocess.run(
        [nginx, "-t", "-c", str(config), "-e", "stderr", "-g", f"pid {tmp_path / 'nginx.pid'};"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
