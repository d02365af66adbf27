"""The context of the work in hand (request id, organisation, key prefix), for logs and events.

Set by the HTTP middleware and authentication for a request, by a job's run for a task;
read by the log filter and by `publish_event`, so neither needs to know where the work came from.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
org_var: ContextVar[int | None] = ContextVar("org", default=None)
key_prefix_var: ContextVar[str | None] = ContextVar("key_prefix", default=None)


def bind_principal(*, org: int | None, key_prefix: str | None) -> None:
    """Name who the current work is for (its organisation and, for an API key, its prefix)."""
    org_var.set(org)
    key_prefix_var.set(key_prefix)
