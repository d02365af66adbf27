"""A real web process (uvicorn, embedded mode) with dashboard users who log in through /login."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.e2e.stack import Stack

PASSWORD = "a-dashboard-password-1"

_MAKE_USERS = """
import json
from django.contrib.auth.models import User
from accounts.models import ApiKey, Membership, Organization
org, _ = Organization.objects.get_or_create(name=%r)
ids = {}
for name in %r:
    user = User.objects.create_user(name, name + "@example.test", %r)
    Membership.objects.create(user=user, organization=org, role="underwriter")
    ids[name] = user.pk
print(json.dumps({"org_id": org.pk, "users": ids, "key": ApiKey.create_key(org, name="k")[1]}))
"""


@dataclass
class Team:
    org_id: int
    users: dict[str, int]
    key: str


def make_team(stack: Stack, org: str, *usernames: str) -> Team:
    """An organisation, an API key and dashboard users (one manage.py process)."""
    output = stack.manage("shell", "-c", _MAKE_USERS % (org, list(usernames), PASSWORD))
    made = json.loads(output.strip().splitlines()[-1])
    return Team(org_id=made["org_id"], users=made["users"], key=made["key"])


def logged_in(base_url: str, username: str) -> httpx.Client:
    """A client holding the session cookie of `username`, logged in through the real form."""
    client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=httpx.Timeout(20, connect=5))
    client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
    )
    assert response.status_code == 302, response.text[:500]
    return client


@dataclass
class OpenStream:
    """A stream read on a thread until the server ends it."""

    client: httpx.Client
    path: str
    status_code: int = 0
    chunks: list[bytes] = field(default_factory=list)
    opened: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)

    def start(self) -> OpenStream:
        threading.Thread(target=self._read, daemon=True).start()
        assert self.opened.wait(10), "the stream did not open"
        return self

    def _read(self) -> None:
        try:
            with self.client.stream("GET", self.path) as response:
                self.status_code = response.status_code
                self.opened.set()
                for chunk in response.iter_raw():
                    self.chunks.append(chunk)
        except httpx.HTTPError:
            pass
        finally:
            self.opened.set()
            self.ended.set()


def answer(client: httpx.Client, path: str) -> tuple[int, dict[str, Any] | None]:
    """The status of a stream request, and its JSON error when it is refused; never waits
    for the body of a stream that opened."""
    with client.stream("GET", path) as response:
        if response.status_code == 200:
            return 200, None
        response.read()
        assert response.headers["content-type"].startswith("application/json"), response.text[:300]
        return response.status_code, response.json()


PRODUCT_PAGE = (
    "<html><head><script type='application/ld+json'>"
    + json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": "Merino Sweater",
            "brand": "Patagonia",
            "category": "sweater",
            "offers": {"price": "129", "priceCurrency": "USD"},
        }
    )
    + "</script></head><body></body></html>"
).encode()


class Shop:
    """A local product page server that counts the requests for each path."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                shop.hits[self.path] = shop.hits.get(self.path, 0) + 1
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(PRODUCT_PAGE)))
                self.end_headers()
                self.wfile.write(PRODUCT_PAGE)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def encode_payload(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def stream_get(client: httpx.Client, payload: dict[str, Any], key: str | None = None) -> httpx.Response:
    """One whole `value-decision/stream-get` (it ends by itself), with a key or only the session."""
    params = {"payload": encode_payload(payload)}
    if key is not None:
        params["api_key"] = key
    response = client.get("/api/v1/value-decision/stream-get", params=params)
    return response


def sse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    """The named events of an SSE body."""
    events = []
    for block in body.split("\n\n"):
        name = data = None
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
        if name is not None and data is not None:
            events.append((name, data))
    return events
