"""The SSE endpoints in the OpenAPI schema.

The feeds and the valuation streams are plain async Django views (DRF would buffer a stream),
so drf-spectacular does not see them; this postprocessing hook describes them: a
`text/event-stream` 200, the `Last-Event-ID` header (or `last_event_id` query parameter) of a
resume, the key in the query string for `EventSource`, and the JSON errors sent before any
stream byte. It runs before `api.schema_links.add_links`, which links ids to the feeds.
"""

from __future__ import annotations

from typing import Any

STREAM_TAG = "streams"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "request_id"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": True},
            },
        },
        "request_id": {"type": "string"},
    },
}

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/StreamError"}}}

_FEED_FRAMING = (
    "WHATWG server-sent events. The stream opens with `retry: 3000`; each event is "
    "`id: <integer>` / `event: <type>` / `data: <one-line JSON>` / blank line, ids increasing "
    "along the feed; a `: heartbeat` comment comes every `SSE_HEARTBEAT_SECONDS` (15 s) while "
    "idle. A `Last-Event-ID` older than the retained history, or unknown, first gets a "
    "`stream.reset` event (`{reason, earliest_id}`, no `id:`). When the web process stops, the "
    "stream ends with a random `retry:` (0.5 s to a few seconds): reconnect with `Last-Event-ID`."
)

_VALUATION_FRAMING = (
    "WHATWG server-sent events, opening with `retry: 3000`; events carry no `id:` (a valuation "
    "stream is not resumable: ask again). Every `data` is one-line JSON with a `type`."
)

_STREAM_HEADERS = {
    "Cache-Control": {"schema": {"type": "string", "enum": ["no-cache"]}},
    "X-Accel-Buffering": {
        "description": "Tells nginx not to buffer the stream.",
        "schema": {"type": "string", "enum": ["no"]},
    },
}

#: `EventSource` cannot set headers: the stream endpoints also take the key in the query
#: string (never logged). `Authorization: Bearer` and the dashboard's session work too.
QUERY_KEY_SCHEMES: dict[str, dict[str, Any]] = {
    "TokenQuery": {"type": "apiKey", "in": "query", "name": "token"},
    "ApiKeyQuery": {"type": "apiKey", "in": "query", "name": "api_key"},
    # A single-use stream ticket (POST /api/v1/stream-tickets): the way to keep keys out of URLs.
    "TicketQuery": {"type": "apiKey", "in": "query", "name": "ticket"},
}
_SECURITY: list[dict[str, list[str]]] = [
    {"ApiKey": []},
    {"cookieAuth": []},
    {"TokenQuery": []},
    {"ApiKeyQuery": []},
]
_FEED_SECURITY: list[dict[str, list[str]]] = [*_SECURITY, {"TicketQuery": []}]

_TYPES = {
    "in": "query",
    "name": "types",
    "required": False,
    "description": (
        "Only these event types: comma-separated, `*` as a wildcard (`processing.*,deal.decision`). "
        "Ids stay the global ones, so resuming a filtered stream is exact. A pattern that "
        "matches no event type: 400 `invalid_types`."
    ),
    "schema": {"type": "string"},
}

_RESUME = [
    {
        "in": "header",
        "name": "Last-Event-ID",
        "required": False,
        "description": (
            "Resume: every stored event of the feed after this id, in order, then the live "
            "ones; no gap, no duplicate. Not an integer: 400."
        ),
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    {
        "in": "query",
        "name": "last_event_id",
        "required": False,
        "description": "The same as the `Last-Event-ID` header, for clients that cannot set it.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
]


def event_schema(resumable: bool) -> dict[str, Any]:
    """One event of a stream (OpenAPI before 3.2 has a `text/event-stream` schema describe
    each event)."""
    fields: dict[str, Any] = {
        "event": {"type": "string"},
        # OpenAPI 3.0 cannot say "a string holding JSON" (contentMediaType is 3.1): a pattern
        # holds it to one line with a JSON object on it.
        "data": {
            "type": "string",
            "pattern": "^\\{.*\\}$",
            "description": "One line of JSON: the event's fields, with `type` (and `timestamp` on feeds).",
        },
    }
    if resumable:
        fields["id"] = {"type": "string", "pattern": "^[0-9]+$", "description": "Absent on `stream.reset`."}
    return {"type": "object", "required": ["event", "data"], "properties": fields}


def _stream_200(description: str, example: str, resumable: bool = True) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _STREAM_HEADERS,
        "content": {"text/event-stream": {"schema": event_schema(resumable), "example": example}},
    }


def _errors(*statuses: str) -> dict[str, Any]:
    meaning = {
        "400": "`invalid_last_event_id`, `invalid_types`, or invalid input (per-field messages).",
        "401": "No key, or an unknown, revoked or expired one; a used, expired or unknown ticket.",
        "403": "The key lacks the scope, or the ticket was issued for another feed or filter.",
        "404": "No such object in the caller's organisation.",
        "429": "Over the rate limit, or `too_many_streams` (streams per key); see `Retry-After`.",
        "503": "`stream_unavailable`: the channel layer is away; retry after `Retry-After`.",
    }
    return {status: {"description": meaning[status], "content": _ERROR} for status in statuses}


def _feed(operation_id: str, summary: str, description: str, example: str, **extra: Any) -> dict[str, Any]:
    path_parameters = extra.pop("path_parameters", [])
    responses = {"200": _stream_200(_FEED_FRAMING, example), **extra.pop("responses", {})}
    responses.update(_errors("400", "401", "403", *(["404"] if path_parameters else []), "429", "503"))
    parameters = [*path_parameters, *_RESUME, _TYPES]
    return _operation(
        "get", operation_id, summary, description, _FEED_SECURITY, responses, parameters=parameters
    )


_FINISHED = {
    "204": {
        "description": (
            "Already finished, and `Last-Event-ID` is its last event: nothing more will come "
            "(this tells `EventSource` to stop)."
        )
    }
}


def _path_parameter(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"in": "path", "name": name, "required": True, "schema": schema}


def _operation(
    method: str,
    operation_id: str,
    summary: str,
    description: str,
    security: list[dict[str, list[str]]],
    responses: dict[str, Any],
    **fields: Any,
) -> dict[str, Any]:
    identity = {"operationId": operation_id, "summary": summary, "description": description}
    return {
        method: {**identity, "tags": [STREAM_TAG], **fields, "security": security, "responses": responses}
    }


def _valuation_stream(
    method: str, operation_id: str, summary: str, description: str, example: str, **fields: Any
) -> dict[str, Any]:
    responses = {"200": _stream_200(_VALUATION_FRAMING, example, resumable=False)}
    responses.update(_errors("400", "401", "403", "429"))
    return _operation(method, operation_id, summary, description, _SECURITY, responses, **fields)


def stream_paths() -> dict[str, dict[str, Any]]:
    prefixed = {"type": "string", "pattern": "^[A-Za-z0-9_]{1,40}$"}
    return {
        "/api/v1/events": _feed(
            "events_stream",
            "Stream the organisation's events",
            "Every event of the caller's organisation. Never closes.",
            'retry: 3000\n\nid: 41\nevent: deal.created\ndata: {"deal_id": 7, "business_name": '
            '"Bolt Logistics", "created_by": "key:dsk_live_ab12cd34", "type": "deal.created", '
            '"timestamp": "2026-01-05T10:00:00Z"}\n\n',
        ),
        "/api/v1/events/deals/{deal_id}": _feed(
            "deal_events_stream",
            "Stream one deal's events",
            "The deal's processing, status, proposal and decision events. Never closes.",
            'retry: 3000\n\nid: 42\nevent: processing.progress\ndata: {"deal_id": 7, "statement_id": 3, '
            '"stage": "parsing", "progress": 25, "type": "processing.progress", '
            '"timestamp": "2026-01-05T10:00:01Z"}\n\n',
            path_parameters=[_path_parameter("deal_id", {"type": "integer"})],
        ),
        "/api/v1/events/batches/{batch_id}": _feed(
            "batch_events_stream",
            "Stream one batch's events",
            "The batch's document events; closes after `batch.completed`. A finished batch's "
            "events are replayed, then the stream closes.",
            'retry: 3000\n\nid: 50\nevent: batch.completed\ndata: {"batch_id": "batch_01J", "total": 2, '
            '"succeeded": 2, "failed": 0, "type": "batch.completed", '
            '"timestamp": "2026-01-05T10:00:09Z"}\n\n',
            path_parameters=[_path_parameter("batch_id", prefixed)],
            responses=_FINISHED,
        ),
        "/api/v1/jobs/{job_id}/stream": _feed(
            "job_events_stream",
            "Stream one job's status and progress",
            "Closes after the terminal event (`completed`, `failed` or `canceled`, then `usage` "
            "for a billable job). A finished job's events are replayed, then the stream closes.",
            'retry: 3000\n\nid: 60\nevent: completed\ndata: {"job_id": "job_01J", "status": "completed", '
            '"results": {}, "type": "completed", "timestamp": "2026-01-05T10:00:09Z"}\n\n',
            path_parameters=[_path_parameter("job_id", prefixed)],
            responses=_FINISHED,
        ),
        "/api/v1/value-decision/stream-get": _valuation_stream(
            "get",
            "value_decision_stream_get",
            "Value a product, narrated as a stream (GET)",
            "`heartbeat` first, then `log` events (`{message, request_id}`), then `result` "
            "(the full valuation) or `failure` (`{message}`); then the stream closes.",
            'retry: 3000\n\nevent: heartbeat\ndata: {"type": "heartbeat"}\n\n'
            'event: log\ndata: {"type": "log", "message": "Scoring", "request_id": "req_1"}\n\n',
            parameters=[
                {
                    "in": "query",
                    "name": "payload",
                    "required": True,
                    "description": "The request of `POST /api/v1/value-decision`, as base64url JSON "
                    "(padding optional).",
                    "schema": {"type": "string"},
                },
            ],
        ),
        "/api/v1/value-decision/stream": _valuation_stream(
            "post",
            "value_decision_stream",
            "Value a product, narrated as a stream (POST)",
            "`start`, `progress` (`progress` 0-100), `partial` (the scores known so far), "
            "then `complete` (`valuation`, `price_min`, `price_max`) or `error`, with "
            "`heartbeat`s while waiting; then the stream closes. Send "
            "`Accept: text/event-stream`.",
            'retry: 3000\n\nevent: start\ndata: {"type": "start"}\n\n'
            'event: progress\ndata: {"type": "progress", "progress": 40}\n\n',
            requestBody={
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ValueDecisionRequest"}}
                },
            },
        ),
    }


def add_stream_operations(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: describe the SSE endpoints."""
    paths = result.setdefault("paths", {})
    for path, operations in stream_paths().items():
        paths.setdefault(path, {}).update(operations)
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["StreamError"] = ERROR_SCHEMA
    components.setdefault("securitySchemes", {}).update(QUERY_KEY_SCHEMES)
    return result
