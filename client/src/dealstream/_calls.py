"""The API's endpoints as `Call`s and `StreamTarget`s: the one place that knows paths and bodies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict
from urllib.parse import quote, urlencode

from dealstream._core import Call, FileInput, StreamTarget, read_file
from dealstream.models import (
    Batch,
    BatchCreated,
    Change,
    Deal,
    Job,
    Page,
    Product,
    PurgeResult,
    StatementUpload,
    Usage,
    Valuation,
    Webhook,
    WebhookDelivery,
)

API = "/api/v1"

Decision = Literal["approved", "declined"]


class ClientInfo(TypedDict, total=False):
    """Who asks for a valuation (`client` in the request); `id` is what `purge` deletes by."""

    id: str
    surface: str
    version: str


def _segment(value: str | int) -> str:
    # Ids go into the path: quote them so an odd id cannot reach another route.
    return quote(str(value), safe="")


def _without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


# -- deals


def create_deal(
    business_name: str, amount_requested: float | str | None, external_ref: str | None
) -> Call[Deal]:
    body = _without_none(
        {"business_name": business_name, "amount_requested": amount_requested, "external_ref": external_ref}
    )
    return Call("POST", f"{API}/deals", json=body, creates=True)


def list_deals(status: str | None, search: str | None) -> Call[Page[Deal]]:
    return Call("GET", f"{API}/deals", params=_without_none({"status": status, "search": search}))


def get_deal(deal_id: int) -> Call[Deal]:
    return Call("GET", f"{API}/deals/{_segment(deal_id)}")


def upload_statement(deal_id: int, file: FileInput) -> Call[StatementUpload]:
    return Call(
        "POST", f"{API}/deals/{_segment(deal_id)}/statements", files=[("file", read_file(file))], creates=True
    )


def decide(deal_id: int, decision: Decision, note: str | None) -> Call[Deal]:
    body = _without_none({"decision": decision, "note": note})
    # Not replayable: after an ambiguous failure the decision may have been taken, and a
    # second one would answer 409; the caller should look at the deal instead.
    return Call("POST", f"{API}/deals/{_segment(deal_id)}/decision", json=body, replayable=False)


def approve_change(change_id: str) -> Call[Change]:
    return Call("POST", f"{API}/changes/{_segment(change_id)}/approve", replayable=False)


def reject_change(change_id: str) -> Call[Change]:
    return Call("POST", f"{API}/changes/{_segment(change_id)}/reject", replayable=False)


# -- batches


def create_batch(deal_id: int, files: Sequence[FileInput]) -> Call[BatchCreated]:
    if not files:
        raise ValueError("A batch needs at least one file.")
    return Call(
        "POST",
        f"{API}/batches",
        data={"deal_id": str(deal_id)},
        files=[("files", read_file(file)) for file in files],
        creates=True,
    )


def get_batch(batch_id: str) -> Call[Batch]:
    return Call("GET", f"{API}/batches/{_segment(batch_id)}")


# -- jobs and usage


def get_job(job_id: str) -> Call[Job]:
    return Call("GET", f"{API}/jobs/{_segment(job_id)}")


def list_jobs(status: str | None, type: str | None) -> Call[Page[Job]]:
    return Call("GET", f"{API}/jobs", params=_without_none({"status": status, "type": type}))


def cancel_job(job_id: str) -> Call[Job]:
    return Call("POST", f"{API}/jobs/{_segment(job_id)}/cancel", replayable=False)


def create_valuation_job(job_input: Mapping[str, Any]) -> Call[Job]:
    return Call("POST", f"{API}/jobs", json={"type": "valuation", "input": dict(job_input)}, creates=True)


def usage() -> Call[Usage]:
    return Call("GET", f"{API}/usage")


# -- valuations


def valuation_body(
    url: str, override_product: Product | Mapping[str, Any] | None, client_info: ClientInfo | None
) -> dict[str, Any]:
    # `url` is always required: it identifies the product even when overrideProduct describes it.
    return _without_none(
        {
            "url": url,
            "overrideProduct": dict(override_product) if override_product is not None else None,
            "client": dict(client_info) if client_info is not None else None,
        }
    )


def value_decision(
    url: str, override_product: Product | Mapping[str, Any] | None, client_info: ClientInfo | None
) -> Call[Valuation]:
    # Deterministic and cached per URL: sending it twice is harmless, so it is replayable.
    return Call("POST", f"{API}/value-decision", json=valuation_body(url, override_product, client_info))


def purge_valuations(client_id: str) -> Call[PurgeResult]:
    return Call("DELETE", f"{API}/valuations", params={"client_id": client_id})


# -- webhooks


def create_webhook(url: str, event_types: Sequence[str], description: str | None) -> Call[Webhook]:
    body = _without_none({"url": url, "event_types": list(event_types), "description": description})
    return Call("POST", f"{API}/webhooks", json=body, creates=True)


def list_webhooks() -> Call[Page[Webhook]]:
    return Call("GET", f"{API}/webhooks")


def get_webhook(webhook_id: str) -> Call[Webhook]:
    return Call("GET", f"{API}/webhooks/{_segment(webhook_id)}")


def update_webhook(webhook_id: str, changes: Mapping[str, Any]) -> Call[Webhook]:
    return Call("PATCH", f"{API}/webhooks/{_segment(webhook_id)}", json=dict(changes))


def delete_webhook(webhook_id: str) -> Call[None]:
    return Call("DELETE", f"{API}/webhooks/{_segment(webhook_id)}")


def rotate_webhook_secret(webhook_id: str) -> Call[Webhook]:
    # Not replayable: a second rotation would retire the secret the first one returned.
    return Call("POST", f"{API}/webhooks/{_segment(webhook_id)}/rotate-secret", replayable=False)


def ping_webhook(webhook_id: str) -> Call[dict[str, str]]:
    return Call("POST", f"{API}/webhooks/{_segment(webhook_id)}/ping")


def replay_webhook(webhook_id: str, since_id: int) -> Call[dict[str, int]]:
    return Call("POST", f"{API}/webhooks/{_segment(webhook_id)}/replay", json={"since_id": since_id})


def list_webhook_deliveries(webhook_id: str) -> Call[Page[WebhookDelivery]]:
    return Call("GET", f"{API}/webhooks/{_segment(webhook_id)}/deliveries")


# -- streams

JOB_TERMINAL = frozenset({"completed", "failed", "canceled"})


def _filtered(path: str, types: str | None) -> str:
    # `types=processing.*,deal.decision`: only those event types (ids stay the global ones).
    return path if not types else f"{path}?{urlencode({'types': types})}"


def org_feed(types: str | None = None) -> StreamTarget:
    return StreamTarget("GET", _filtered(f"{API}/events", types))


def deal_feed(deal_id: int, types: str | None = None) -> StreamTarget:
    return StreamTarget("GET", _filtered(f"{API}/events/deals/{_segment(deal_id)}", types))


def batch_feed(batch_id: str, types: str | None = None) -> StreamTarget:
    done = frozenset({"batch.completed"})
    path = _filtered(f"{API}/events/batches/{_segment(batch_id)}", types)
    return StreamTarget("GET", path, terminal=done, final=done)


def job_feed(job_id: str, types: str | None = None) -> StreamTarget:
    # A billable job's feed ends with `usage` after its terminal event; a free job's with
    # the terminal event itself, when the server closes the stream.
    path = _filtered(f"{API}/jobs/{_segment(job_id)}/stream", types)
    return StreamTarget("GET", path, terminal=JOB_TERMINAL, final=frozenset({"usage"}))


def valuation_stream(
    url: str, override_product: Product | Mapping[str, Any] | None, client_info: ClientInfo | None
) -> StreamTarget:
    return StreamTarget(
        "POST",
        f"{API}/value-decision/stream",
        json=valuation_body(url, override_product, client_info),
        resumable=False,
        terminal=frozenset({"complete", "error"}),
        final=frozenset({"complete", "error"}),
    )
