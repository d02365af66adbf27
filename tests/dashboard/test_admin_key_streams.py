"""Revoking a key in the admin, against a real server: the next call gets 401 and the key's
open stream is closed within one heartbeat interval."""

from __future__ import annotations

import re
import threading
import time

import httpx
import pytest

from tests.e2e.stack import embedded_stack

pytestmark = pytest.mark.e2e

HEARTBEAT = 0.5
PASSWORD = "admin-e2e-password-1"


def admin_session(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=10)
    client.get("/admin/login/")
    response = client.post(
        "/admin/login/?next=/admin/",
        data={
            "username": "root",
            "password": PASSWORD,
            "next": "/admin/",
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    assert response.status_code == 302, response.text[:500]
    return client


def test_revoking_in_the_admin_closes_the_keys_open_streams():
    with embedded_stack(SSE_HEARTBEAT_SECONDS=str(HEARTBEAT)) as stack:
        base = stack.start_web("uvicorn")
        stack.manage(
            "shell",
            "-c",
            f"from django.contrib.auth.models import User; User.objects.create_superuser('root', 'root@example.test', '{PASSWORD}')",
        )
        raw = stack.create_key("Streaming Org")
        bearer = {"Authorization": f"Bearer {raw}"}
        assert httpx.get(base + "/api/v1/events/log", headers=bearer).status_code == 200

        lines: list[str] = []
        opened = threading.Event()
        ended = threading.Event()

        def follow() -> None:
            with httpx.stream(
                "GET", base + "/api/v1/events", headers=bearer, timeout=httpx.Timeout(30)
            ) as response:
                assert response.status_code == 200
                opened.set()
                for line in response.iter_lines():
                    lines.append(line)
            ended.set()

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        assert opened.wait(10)
        time.sleep(HEARTBEAT * 3)
        assert not ended.is_set()
        assert ": heartbeat" in lines  # the stream is open and idle

        admin = admin_session(base)
        listing = admin.get("/admin/accounts/apikey/").text
        found = re.search(r"/admin/accounts/apikey/(\d+)/change/", listing)
        assert found is not None
        key_id = found.group(1)
        revoked = admin.post(
            "/admin/accounts/apikey/",
            data={
                "action": "revoke_keys",
                "_selected_action": key_id,
                "confirm": "yes",
                "csrfmiddlewaretoken": admin.cookies["csrftoken"],
            },
        )
        assert revoked.status_code == 302, revoked.text[:500]
        started = time.monotonic()

        # The next request is refused at once...
        refused = httpx.get(base + "/api/v1/events/log", headers=bearer)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "api_key_revoked"
        # ...and the open stream ends within a heartbeat interval (plus scheduling slack).
        assert ended.wait(HEARTBEAT * 2 + 3), "the revoked key's stream is still open"
        assert time.monotonic() - started < HEARTBEAT * 2 + 3
        # A new stream with the key is refused before any stream byte.
        assert httpx.get(base + "/api/v1/events", headers=bearer).status_code == 401
