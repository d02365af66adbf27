"""Finding 12: a strict Content-Security-Policy on every page (the dashboard and the API
docs carry no inline script or style), and HSTS in production."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import Membership, Organization
from deals.models import Batch, Deal, Statement
from tests.e2e.stack import ROOT
from tests.security.asgi_client import call

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def _assert_strict_policy(headers: dict[str, str]) -> None:
    policy = headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy


def _assert_no_inline_code(html: str) -> None:
    assert not INLINE_SCRIPT.findall(html)
    assert not INLINE_STYLE.findall(html)


@pytest.mark.django_db(transaction=True)
def test_it_sends_a_strict_csp_the_pages_comply_with(org: Organization) -> None:
    user = User.objects.create_user("csp", "csp@example.com", "pw-csp-1234")
    Membership.objects.create(user=user, organization=org, role="underwriter")
    deal = Deal.objects.create(organization=org, business_name="CSP Ltd")
    Statement.objects.create(deal=deal, filename="march.csv", status="processing")
    batch = Batch.objects.create(organization=org, deal=deal, total=2)
    browser = Client()
    browser.force_login(user)
    cookie = {"cookie": f"sessionid={browser.cookies['sessionid'].value}"}

    pages = ["/login", "/api/docs/", "/", f"/deals/{deal.pk}", f"/batches/{batch.pk}", "/activity"]
    for path in pages:
        response = call("GET", path, headers={} if path == "/login" else cookie)
        assert response.status == 200, (path, response.status)
        _assert_strict_policy(response.headers)
        _assert_no_inline_code(response.body.decode())
    assert "strict-transport-security" not in response.headers  # not outside production

    # The docs' start-up script is a file of its own, from this origin.
    script = call("GET", "/api/docs/", query="script=")
    assert script.status == 200
    assert script.headers["content-type"].startswith("application/javascript")
    # JSON answers carry the policy too.
    _assert_strict_policy(call("GET", "/healthz").headers)


def test_it_sends_hsts_in_production() -> None:
    """A process configured for production, driving the real ASGI application."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "HSTS_SECONDS"}},
        "APP_ENV": "production",
        "SECRET_KEY": "a-production-secret-for-this-test-only-0123456789abcdef",
        "JOB_RUNNER": "inline",
    }
    script = (
        "import json\n"
        "from tests.security.asgi_client import call\n"
        "print(json.dumps(call('GET', '/healthz').headers))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    headers = json.loads(result.stdout.strip().splitlines()[-1])
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    _assert_strict_policy(headers)
