"""Plain calls against a fake server: retries and backoff, idempotency keys, errors, pagination."""

from __future__ import annotations

import pytest
from dealstream import (
    APIConnectionError,
    AsyncDealstream,
    AuthenticationError,
    ConflictError,
    Dealstream,
    DealstreamError,
    Event,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    ValidationError,
)

from tests.e2e.stack import free_port

pytestmark = pytest.mark.timeout(30)

KEY = "dsk_test_requests"


def job(status="queued", **fields):
    return {"id": "job_1", "status": status, "progress": 0.0, **fields}


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "invalid_request", ValidationError),
        (401, "unauthenticated", AuthenticationError),
        (402, "quota_exceeded", QuotaExceededError),
        (403, "insufficient_scope", PermissionDeniedError),
        (404, "not_found", NotFoundError),
        (409, "conflict", ConflictError),
        (413, "too_large", DealstreamError),
        (429, "rate_limited", RateLimitError),
        (500, "internal_error", ServerError),
        (503, "unavailable", ServerError),
    ],
)
def test_errors_are_mapped_from_the_envelope(serve, no_sleep, status, code, kind):
    server = serve(lambda ex, n: ex.error(status, code, "Refused.", headers={"Retry-After": "1"}))
    with Dealstream(KEY, server.url) as client, pytest.raises(kind) as caught:
        client.jobs.get("job_1")
    error = caught.value
    assert type(error) is kind
    assert (error.status, error.code, error.message, error.request_id) == (
        status,
        code,
        "Refused.",
        "req_srv",
    )
    assert "req_srv" in str(error)


def test_a_validation_error_carries_its_fields(serve):
    fields = {"business_name": ["This field is required."]}
    server = serve(
        lambda ex, n: ex.error(400, "invalid_request", "The request has invalid fields.", fields=fields)
    )
    with Dealstream(KEY, server.url) as client, pytest.raises(ValidationError) as caught:
        client.deals.create("")
    assert caught.value.fields == fields


def test_a_rate_limit_error_carries_retry_after(serve, no_sleep):
    server = serve(lambda ex, n: ex.error(429, "rate_limited", headers={"Retry-After": "3"}))
    with Dealstream(KEY, server.url, max_retries=0) as client, pytest.raises(RateLimitError) as caught:
        client.usage()
    assert caught.value.retry_after == 3


def test_an_error_without_the_envelope_still_maps(serve, no_sleep):
    server = serve(
        lambda ex, n: ex.raw(502, b"<html>Bad gateway</html>", "text/html", {"X-Request-ID": "req_px"})
    )
    with Dealstream(KEY, server.url) as client, pytest.raises(ServerError) as caught:
        client.usage()
    assert caught.value.status == 502
    assert caught.value.request_id == "req_px"
    assert "Bad gateway" in caught.value.message


def test_a_429_is_retried_after_retry_after(serve, no_sleep):
    def script(ex, n):
        if n < 2:
            ex.error(429, "rate_limited", headers={"Retry-After": "2"})
        else:
            ex.json(
                200,
                {"monthly_used": 1, "monthly_limit": 5, "monthly_remaining": 4, "subscription_tier": "free"},
            )

    server = serve(script)
    with Dealstream(KEY, server.url) as client:
        assert client.usage()["monthly_used"] == 1
    assert no_sleep == [2.0, 2.0]
    assert len(server.requests) == 3


def test_retry_after_as_an_http_date_is_honoured(serve, no_sleep):
    def script(ex, n):
        if n == 0:
            ex.error(503, "unavailable", headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
        else:
            ex.json(200, job())

    server = serve(script)
    with Dealstream(KEY, server.url) as client:
        client.jobs.get("job_1")
    assert no_sleep == [0.0]  # a date in the past: try again at once


def test_a_retry_after_too_long_to_wait_is_raised(serve, no_sleep):
    server = serve(lambda ex, n: ex.error(429, "rate_limited", headers={"Retry-After": "3600"}))
    with Dealstream(KEY, server.url) as client, pytest.raises(RateLimitError) as caught:
        client.usage()
    assert caught.value.retry_after == 3600
    assert no_sleep == []
    assert len(server.requests) == 1


def test_server_errors_are_retried_with_jittered_exponential_backoff(serve, no_sleep):
    server = serve(lambda ex, n: ex.error(500, "internal_error"))
    with Dealstream(KEY, server.url) as client, pytest.raises(ServerError):
        client.jobs.get("job_1")
    assert len(server.requests) == 4  # the first try and 3 retries
    assert len(no_sleep) == 3
    for attempt, delay in enumerate(no_sleep):
        assert 0 <= delay <= 0.5 * 2**attempt


def test_max_retries_zero_tries_once(serve, no_sleep):
    server = serve(lambda ex, n: ex.error(503, "unavailable"))
    with Dealstream(KEY, server.url, max_retries=0) as client, pytest.raises(ServerError):
        client.jobs.get("job_1")
    assert len(server.requests) == 1


def test_a_creating_post_reuses_its_idempotency_key_across_retries(serve, no_sleep):
    def script(ex, n):
        if n in (0, 3):
            ex.error(503, "unavailable")
        elif n == 1:
            ex.abort()  # the connection drops: maybe the deal was created, maybe not
        else:
            ex.json(201, {"id": n, "status": "new", "business_name": "Acme"})

    server = serve(script)
    with Dealstream(KEY, server.url) as client:
        first = client.deals.create("Acme", amount_requested="25000.00", external_ref="crm-1")
        second = client.deals.create("Acme")
    assert (first["id"], second["id"]) == (2, 4)
    requests = server.requests
    keys = [r.headers["idempotency-key"] for r in requests]
    assert keys[0] == keys[1] == keys[2]
    assert keys[3] == keys[4] != keys[0]
    request_ids = [r.headers["x-request-id"] for r in requests]
    assert request_ids[0] == request_ids[2] != request_ids[3]
    assert requests[0].json() == {
        "business_name": "Acme",
        "amount_requested": "25000.00",
        "external_ref": "crm-1",
    }


def test_an_idempotency_key_still_in_progress_is_retried(serve, no_sleep):
    def script(ex, n):
        if n == 0:
            ex.error(409, "idempotency_in_progress")
        else:
            ex.json(202, job())

    server = serve(script)
    with Dealstream(KEY, server.url) as client:
        assert client.jobs.create_valuation({"url": "https://shop.test/x"})["id"] == "job_1"
    assert server.requests[0].json() == {"type": "valuation", "input": {"url": "https://shop.test/x"}}
    assert server.requests[0].headers["idempotency-key"] == server.requests[1].headers["idempotency-key"]


def test_a_state_change_is_not_retried_after_an_ambiguous_failure(serve, no_sleep):
    server = serve(lambda ex, n: ex.error(500, "internal_error"))
    with Dealstream(KEY, server.url) as client, pytest.raises(ServerError):
        client.deals.decide(7, "approved", note="fine")
    assert len(server.requests) == 1
    assert server.requests[0].json() == {"decision": "approved", "note": "fine"}
    assert "idempotency-key" not in server.requests[0].headers


def test_a_state_change_is_retried_when_the_server_surely_did_nothing(serve, no_sleep):
    def script(ex, n):
        if n == 0:
            ex.error(429, "rate_limited", headers={"Retry-After": "1"})
        else:
            ex.json(200, {"change_id": "ch_1", "status": "approved"})

    server = serve(script)
    with Dealstream(KEY, server.url) as client:
        assert client.changes.approve("ch_1")["status"] == "approved"
    assert [r.path for r in server.requests] == ["/api/v1/changes/ch_1/approve"] * 2


def test_an_unreachable_server_raises_a_connection_error(no_sleep):
    with Dealstream(KEY, f"http://127.0.0.1:{free_port()}") as client, pytest.raises(APIConnectionError):
        client.usage()
    assert len(no_sleep) == 3


def test_list_follows_next_pages_on_the_clients_origin(serve):
    def script(ex, n):
        if "offset" not in ex.request.query:
            # A next link naming another host (a proxy's view) is followed on our own origin.
            ex.json(
                200,
                {
                    "results": [{"id": 3}, {"id": 2}],
                    "next": "http://internal:9/api/v1/deals?offset=2&status=new",
                },
            )
        else:
            ex.json(200, {"results": [{"id": 1}], "next": None})

    server = serve(script)
    with Dealstream(KEY, server.url) as client:
        deals = client.deals.list(status="new")
        assert [deal["id"] for deal in deals] == [3, 2, 1]
    first, second = server.requests
    assert first.query == {"status": ["new"]}
    assert second.query == {"offset": ["2"], "status": ["new"]}
    assert second.headers["authorization"] == f"Bearer {KEY}"


def test_uploads_are_multipart_with_the_file_name(serve, tmp_path):
    statement = tmp_path / "march.csv"
    statement.write_text("date,description,amount\n2026-03-01,Coffee,-3.50\n")

    def script(ex, n):
        if ex.request.path.endswith("/statements"):
            ex.json(202, {"statement_id": 5, "job_id": "job_1", "status": "queued"})
        else:
            ex.json(202, {"batch_id": "batch_1", "total": 2})

    server = serve(script)
    with Dealstream(KEY, server.url) as client:
        assert client.deals.upload_statement(7, statement)["job_id"] == "job_1"
        assert client.batches.create(7, [statement, ("april.ofx", b"OFXHEADER:100")])["total"] == 2
    upload, batch = server.requests
    assert upload.path == "/api/v1/deals/7/statements"
    assert upload.headers["content-type"].startswith("multipart/form-data")
    assert b'name="file"; filename="march.csv"' in upload.body
    assert b"Coffee" in upload.body
    assert upload.headers["idempotency-key"]
    assert b'name="deal_id"' in batch.body
    assert batch.body.count(b'name="files"') == 2
    assert b'filename="april.ofx"' in batch.body


def test_every_method_reaches_its_endpoint(serve):
    def script(ex, n):
        if ex.request.method == "DELETE":
            ex.json(200, {"deleted": 2})
        else:
            ex.json(200, {"results": [], "next": None, "id": "x", "status": "completed"})

    server = serve(script)
    with Dealstream(KEY, server.url) as client:
        client.deals.get(7)
        client.changes.reject("ch_1")
        client.batches.get("batch_1")
        client.jobs.get("job_1")
        list(client.jobs.list(status="completed", type="valuation"))
        client.jobs.cancel("job_1")
        client.value_decision("https://shop.test/x", client_info={"id": "app-1", "surface": "web"})
        assert client.valuations.purge("app-1") == {"deleted": 2}
        client.usage()
    assert [(r.method, r.path) for r in server.requests] == [
        ("GET", "/api/v1/deals/7"),
        ("POST", "/api/v1/changes/ch_1/reject"),
        ("GET", "/api/v1/batches/batch_1"),
        ("GET", "/api/v1/jobs/job_1"),
        ("GET", "/api/v1/jobs"),
        ("POST", "/api/v1/jobs/job_1/cancel"),
        ("POST", "/api/v1/value-decision"),
        ("DELETE", "/api/v1/valuations"),
        ("GET", "/api/v1/usage"),
    ]
    assert server.requests[4].query == {"status": ["completed"], "type": ["valuation"]}
    assert server.requests[6].json() == {
        "url": "https://shop.test/x",
        "client": {"id": "app-1", "surface": "web"},
    }
    assert server.requests[7].query == {"client_id": ["app-1"]}


def test_ids_are_quoted_into_paths(serve):
    server = serve(lambda ex, n: ex.json(200, job()))
    with Dealstream(KEY, server.url) as client:
        client.jobs.get("../deals/1")
    assert server.requests[0].path == "/api/v1/jobs/..%2Fdeals%2F1"


def test_it_reads_its_settings_from_the_environment(serve, monkeypatch):
    server = serve(lambda ex, n: ex.json(200, job()))
    monkeypatch.setenv("DEALSTREAM_API_KEY", "dsk_test_env")
    monkeypatch.setenv("DEALSTREAM_BASE_URL", server.url + "/")
    with Dealstream() as client:
        client.jobs.get("job_1")
    assert server.requests[0].headers["authorization"] == "Bearer dsk_test_env"


def test_it_needs_an_api_key(monkeypatch):
    monkeypatch.delenv("DEALSTREAM_API_KEY", raising=False)
    with pytest.raises(DealstreamError, match="DEALSTREAM_API_KEY"):
        Dealstream()


def test_the_base_url_defaults_to_the_local_server(monkeypatch):
    monkeypatch.delenv("DEALSTREAM_BASE_URL", raising=False)
    assert Dealstream("k").base_url == "http://127.0.0.1:8000"


def test_wait_follows_the_job_feed_and_returns_the_final_job(serve):
    def script(ex, n):
        if ex.request.path.endswith("/stream"):
            ex.start_stream()
            ex.event("status", {"job_id": "job_1", "status": "started"}, id=1)
            ex.event("progress", {"job_id": "job_1", "progress": 0.5, "message": "parsing"}, id=2)
            ex.event("completed", {"job_id": "job_1", "status": "completed", "results": {}}, id=3)
            ex.finish()
        else:
            ex.json(200, job("completed" if n else "started"))

    server = serve(script)
    seen: list[Event] = []
    with Dealstream(KEY, server.url) as client:
        final = client.jobs.wait("job_1", on_event=seen.append)
    assert final["status"] == "completed"
    assert [e.type for e in seen] == ["status", "progress", "completed"]


def test_wait_returns_a_finished_job_at_once(serve):
    server = serve(lambda ex, n: ex.json(200, job("failed", error="Unsupported file format")))
    with Dealstream(KEY, server.url) as client:
        assert client.jobs.wait("job_1")["error"] == "Unsupported file format"
    assert len(server.requests) == 1


async def test_the_async_client_retries_and_paginates(serve, no_sleep):
    def script(ex, n):
        if n == 0:
            ex.error(429, "rate_limited", headers={"Retry-After": "4"})
        elif "offset" not in ex.request.query:
            ex.json(200, {"results": [{"id": "job_2"}], "next": f"{server.url}/api/v1/jobs?offset=1"})
        else:
            ex.json(200, {"results": [{"id": "job_1"}], "next": None})

    server = serve(script)
    async with AsyncDealstream(KEY, server.url) as client:
        jobs = [job["id"] async for job in client.jobs.list()]
    assert jobs == ["job_2", "job_1"]
    assert no_sleep == [4.0]
    assert server.requests[0].headers["x-request-id"] == server.requests[1].headers["x-request-id"]


async def test_the_async_client_maps_errors_and_reuses_idempotency_keys(serve, no_sleep):
    def script(ex, n):
        if n == 0:
            ex.error(502, "bad_gateway")
        elif n == 1:
            ex.json(201, {"id": 1, "status": "new"})
        else:
            ex.error(404, "not_found", "No such deal.")

    server = serve(script)
    async with AsyncDealstream(KEY, server.url) as client:
        assert (await client.deals.create("Acme"))["id"] == 1
        with pytest.raises(NotFoundError):
            await client.deals.get(99)
    assert server.requests[0].headers["idempotency-key"] == server.requests[1].headers["idempotency-key"]
