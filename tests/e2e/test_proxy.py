"""docker/nginx.conf in front of a real web process: HTTP/2 over TLS, events streamed through
it as they happen, the client's own X-Forwarded-For never believed, /metrics not exposed.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import Stack, distributed_stack, free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@dataclass
class Proxied:
    stack: Stack
    web_url: str
    proxy_url: str
    certificate: Path

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        """A client of the proxy that trusts its throwaway certificate, and only that."""
        trust = ssl.create_default_context(cafile=str(self.certificate))
        return httpx.Client(base_url=self.proxy_url, verify=trust, timeout=10, headers=headers)


def proxy_config(workdir: Path, web_port: int, http_port: int, https_port: int) -> Path:
    """The example configuration with this machine's ports, a throwaway certificate and
    temporary paths of the test's own (so it runs without root)."""
    certificate, key = workdir / "proxy.crt", workdir / "proxy.key"
    openssl = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
    ]
    openssl += ["-addext", "subjectAltName=IP:127.0.0.1"]  # the certificate of the address dialled
    subprocess.run([*openssl, "-keyout", str(key), "-out", str(certificate)], check=True, capture_output=True)
    temp = workdir / "nginx-temp"
    temp.mkdir()
    paths = "".join(
        f"    {kind}_temp_path {temp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = (
        (ROOT / "docker" / "nginx.conf")
        .read_text()
        .replace("/etc/nginx/tls/dealstream.crt", str(certificate))
        .replace("/etc/nginx/tls/dealstream.key", str(key))
        .replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{web_port};")
        .replace("server 127.0.0.1:8001;", f"server 127.0.0.1:{web_port};")
        .replace("listen 80;", f"listen 127.0.0.1:{http_port};")
        .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
        .replace("worker_processes auto;", "worker_processes 1;")
        .replace("http {\n", "http {\n" + paths + f"    access_log {workdir / 'nginx-access.log'};\n", 1)
    )
    config = workdir / "nginx.conf"
    config.write_text(text)
    return config


@pytest.fixture
def proxied() -> Iterator[Proxied]:
    if NGINX is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    with distributed_stack(
        RATE_LIMIT_PER_MINUTE="100000", RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE="3", SSE_HEARTBEAT_SECONDS="1"
    ) as stack:
        web_url = stack.start_web("uvicorn")
        https_port = free_port()
        config = proxy_config(stack.workdir, int(web_url.rsplit(":", 1)[1]), free_port(), https_port)
        argv = [
            NGINX,
            "-c",
            str(config),
            "-e",
            "stderr",
            "-g",
            f"daemon off; pid {stack.workdir / 'nginx.pid'};",
        ]
        nginx = stack._spawn("nginx", argv)
        proxied = Proxied(stack, web_url, f"https://127.0.0.1:{https_port}", stack.workdir / "proxy.crt")
        deadline = time.monotonic() + 20
        with proxied.client() as client:
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert nginx.popen.poll() is None, nginx.log()
                assert time.monotonic() < deadline, nginx.log()
                time.sleep(0.2)
        yield proxied


def test_it_speaks_http2_to_clients(proxied: Proxied) -> None:
    curl = shutil.which("curl")
    assert curl, "curl is needed to negotiate HTTP/2"
    result = subprocess.run(
        [
            curl,
            "--http2",
            "-k",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version}",
            proxied.proxy_url + "/healthz",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.stdout == "2", result


def test_it_streams_events_through_the_proxy_as_they_happen(proxied: Proxied) -> None:
    key = proxied.stack.create_key("Proxy E2E")
    headers = {"Authorization": f"Bearer {key}"}
    with (
        proxied.client(headers=headers) as client,
        client.stream("GET", "/api/v1/events", headers={"Accept": "text/event-stream"}) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        next(lines)  # the stream is open end to end before the event is published
        created = client.post("/api/v1/deals", json={"business_name": "Proxy Bakery"})
        assert created.status_code == 201, created.text
        published = time.monotonic()
        for line in lines:
            if line == "event: deal.created":
                break
            assert time.monotonic() - published < 5, "the event did not come through the proxy"
        assert time.monotonic() - published < 2


def test_it_counts_clients_by_their_real_address_whatever_they_claim(proxied: Proxied) -> None:
    claims = ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"]
    with proxied.client() as client:
        through_proxy = [
            client.get("/api/v1/deals", headers={"X-Forwarded-For": claim}).status_code for claim in claims
        ]
        # The proxy replaced each claim with the real peer address: one client, over its limit of 3.
        assert through_proxy == [401, 401, 401, 429]
        assert client.get("/metrics").status_code == 404
    assert httpx.get(proxied.web_url + "/metrics", timeout=10).status_code == 200
