"""OpenAPI links: which response field feeds which operation's id, so clients and fuzzers can chain calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Link:
    """A response of `source` (path, method, status) supplies `parameters` of `target` (path, method)."""

    name: str
    source: tuple[str, str, str]
    target: tuple[str, str]
    parameters: dict[str, str] = field(default_factory=dict)


DEAL = "/api/v1/deals/{deal_id}"
STATEMENTS = "/api/v1/deals/{deal_id}/statements"
STATEMENT = "/api/v1/deals/{deal_id}/statements/{statement_id}"
TRANSACTIONS = "/api/v1/deals/{deal_id}/transactions"
REVENUE = "/api/v1/deals/{deal_id}/transactions/{transaction_id}/revenue"
DECISION = "/api/v1/deals/{deal_id}/decision"
JOB = "/api/v1/jobs/{job_id}"
JOB_CANCEL = "/api/v1/jobs/{job_id}/cancel"
DEAL_EVENTS = "/api/v1/events/deals/{deal_id}"
JOB_EVENTS = "/api/v1/jobs/{job_id}/stream"
WEBHOOK = "/api/v1/webhooks/{webhook_id}"
CHANGE = "/api/v1/changes/{change_id}"
BATCH_EVENTS = "/api/v1/events/batches/{batch_id}"
VALUATION = "/api/v1/valuations/{valuation_id}"

_CREATED_DEAL = ("/api/v1/deals", "post", "201")
_DEAL = (DEAL, "get", "200")
_ACCEPTED_STATEMENT = (STATEMENTS, "post", "202")
_ACCEPTED_JOB = ("/api/v1/jobs", "post", "202")
_CREATED_WEBHOOK = ("/api/v1/webhooks", "post", "201")
_ACCEPTED_BATCH = ("/api/v1/batches", "post", "202")
_FIRST_LISTED = "$response.body#/results/0/id"
_BATCH_ID = "$response.body#/batch_id"
_CREATED_ID = "$response.body#/id"
_QUEUED_JOB = "$response.body#/job_id"
_DEAL_IN_PATH = "$request.path.deal_id"
_PROPOSED_CHANGE = "$response.body#/proposal/change_id"

LINKS: tuple[Link, ...] = (
    Link("GetDeal", _CREATED_DEAL, (DEAL, "get"), {"deal_id": _CREATED_ID}),
    Link("UploadStatement", _CREATED_DEAL, (STATEMENTS, "post"), {"deal_id": _CREATED_ID}),
    Link("ListTransactions", _CREATED_DEAL, (TRANSACTIONS, "get"), {"deal_id": _CREATED_ID}),
    Link("DecideDeal", _CREATED_DEAL, (DECISION, "post"), {"deal_id": _CREATED_ID}),
    Link("GetListedDeal", ("/api/v1/deals", "get", "200"), (DEAL, "get"), {"deal_id": _FIRST_LISTED}),
    Link(
        "RemoveStatement",
        _ACCEPTED_STATEMENT,
        (STATEMENT, "delete"),
        {"deal_id": _DEAL_IN_PATH, "statement_id": "$response.body#/statement_id"},
    ),
    Link("GetStatementJob", _ACCEPTED_STATEMENT, (JOB, "get"), {"job_id": _QUEUED_JOB}),
    Link("CancelStatementJob", _ACCEPTED_STATEMENT, (JOB_CANCEL, "post"), {"job_id": _QUEUED_JOB}),
    Link("GetDealAfterUpload", _ACCEPTED_STATEMENT, (DEAL, "get"), {"deal_id": _DEAL_IN_PATH}),
    Link(
        "RemoveFirstStatement",
        _DEAL,
        (STATEMENT, "delete"),
        {"deal_id": _CREATED_ID, "statement_id": "$response.body#/statements/0/id"},
    ),
    Link("ApproveProposal", _DEAL, (CHANGE + "/approve", "post"), {"change_id": _PROPOSED_CHANGE}),
    Link("RejectProposal", _DEAL, (CHANGE + "/reject", "post"), {"change_id": _PROPOSED_CHANGE}),
    Link(
        "CorrectRevenue",
        (TRANSACTIONS, "get", "200"),
        (REVENUE, "post"),
        {"deal_id": _DEAL_IN_PATH, "transaction_id": _FIRST_LISTED},
    ),
    Link("GetBatch", _ACCEPTED_BATCH, ("/api/v1/batches/{batch_id}", "get"), {"batch_id": _BATCH_ID}),
    Link("GetJob", _ACCEPTED_JOB, (JOB, "get"), {"job_id": _CREATED_ID}),
    Link("CancelJob", _ACCEPTED_JOB, (JOB_CANCEL, "post"), {"job_id": _CREATED_ID}),
    Link("GetListedJob", ("/api/v1/jobs", "get", "200"), (JOB, "get"), {"job_id": _FIRST_LISTED}),
    # The feeds: a created object's id is enough to watch it live.
    Link("WatchCreatedDeal", _CREATED_DEAL, (DEAL_EVENTS, "get"), {"deal_id": _CREATED_ID}),
    Link("WatchStatementJob", _ACCEPTED_STATEMENT, (JOB_EVENTS, "get"), {"job_id": _QUEUED_JOB}),
    Link("WatchJob", _ACCEPTED_JOB, (JOB_EVENTS, "get"), {"job_id": _CREATED_ID}),
    Link("WatchBatch", _ACCEPTED_BATCH, (BATCH_EVENTS, "get"), {"batch_id": _BATCH_ID}),
    Link(
        "GetValuation",
        ("/api/v1/valuations", "get", "200"),
        (VALUATION, "get"),
        {"valuation_id": _FIRST_LISTED},
    ),
    *(
        Link(name, _CREATED_WEBHOOK, (WEBHOOK + suffix, method), {"webhook_id": _CREATED_ID})
        for name, suffix, method in (
            ("GetWebhook", "", "get"),
            ("ChangeWebhook", "", "patch"),
            ("DeleteWebhook", "", "delete"),
            ("RotateWebhookSecret", "/rotate-secret", "post"),
            ("PingWebhook", "/ping", "post"),
            ("ReplayWebhook", "/replay", "post"),
            ("ListWebhookDeliveries", "/deliveries", "get"),
        )
    ),
)


def _operation(paths: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    try:
        operation: dict[str, Any] = paths[path][method]
    except KeyError:
        # A renamed route must not silently drop its links.
        raise ImproperlyConfigured(
            f"OpenAPI link names {method.upper()} {path}, which the schema lacks"
        ) from None
    return operation


def add_links(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: attach LINKS to the responses they start from."""
    paths = result.get("paths", {})
    for link in LINKS:
        path, method, status = link.source
        response = _operation(paths, path, method)["responses"][status]
        target = _operation(paths, *link.target)
        response.setdefault("links", {})[link.name] = {
            "operationId": target["operationId"],
            "parameters": link.parameters,
        }
    return result
