"""Python client and command-line tool for the Dealstream API.

from dealstream import Dealstream

client = Dealstream()  # DEALSTREAM_API_KEY, DEALSTREAM_BASE_URL
deal = client.deals.create("Acme Bakery")
upload = client.deals.upload_statement(deal["id"], "march.csv")
job = client.jobs.wait(upload["job_id"])
"""

from __future__ import annotations

from dealstream._async_client import AsyncDealstream, AsyncDealWatch, AsyncEventStream
from dealstream._calls import ClientInfo, Decision
from dealstream._client import Dealstream, DealWatch, EventStream
from dealstream._core import VERSION as __version__
from dealstream._core import FileInput
from dealstream.errors import (
    APIConnectionError,
    AuthenticationError,
    ConflictError,
    DealstreamError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    StreamError,
    ValidationError,
)
from dealstream.sse import Event
from dealstream.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "APIConnectionError",
    "AsyncDealWatch",
    "AsyncDealstream",
    "AsyncEventStream",
    "AuthenticationError",
    "ClientInfo",
    "ConflictError",
    "DealWatch",
    "Dealstream",
    "DealstreamError",
    "Decision",
    "Event",
    "EventStream",
    "FileInput",
    "NotFoundError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "ServerError",
    "StreamError",
    "ValidationError",
    "WebhookVerificationError",
    "__version__",
    "verify_webhook",
]
