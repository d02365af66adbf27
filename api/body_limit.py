"""Request-body caps enforced at the ASGI layer, before Django reads (and spools) a byte.

Django's ASGI handler reads the whole body into a temporary file before any middleware,
authentication or view runs; without this layer a client could make the server write a
body of any size to disk only to answer 401. Uploads may be as large as MAX_UPLOAD_MB
(times the files a batch may carry); every other route takes at most MAX_JSON_BODY_MB.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

from api.errors import error_body
from api.middleware import request_id_from
from api.parsers import MB
from core.context import request_id_var

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]

# Multipart framing around the files (boundaries, part headers, the other fields).
MULTIPART_OVERHEAD_BYTES = 64 * 1024
# A batch may carry several files of up to MAX_UPLOAD_MB each.
BATCH_UPLOAD_FACTOR = 5

# Routes taking files: one statement over the API; several files (or a zip) as a batch,
# over the API or from the dashboard's drop zone.
_SINGLE_UPLOAD = re.compile(r"^/api/v1/deals/[^/]+/statements$")
_BATCH_UPLOAD = re.compile(r"^(/api/v1/batches|/deals/[^/]+/statements)$")


def body_limit(path: str) -> tuple[int, str]:
    """The largest body `path` accepts, in bytes, and the error code for one larger."""
    upload = int(settings.MAX_UPLOAD_MB) * MB
    if _SINGLE_UPLOAD.match(path):
        return upload + MULTIPART_OVERHEAD_BYTES, "upload_too_large"
    if _BATCH_UPLOAD.match(path):
        return upload * BATCH_UPLOAD_FACTOR + MULTIPART_OVERHEAD_BYTES, "upload_too_large"
    return int(settings.MAX_JSON_BODY_MB) * MB, "payload_too_large"


async def _refuse(send: Send, status: int, code: str, message: str, request_id: str) -> None:
    token = request_id_var.set(request_id)
    try:
        body = json.dumps(error_body(code, message)).encode()
    finally:
        request_id_var.reset(token)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
                (b"x-scorer-version", settings.SCORER_VERSION.encode()),
                (b"x-app-env", settings.APP_ENV.encode()),
                # The rest of the body is never read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Answers 413 for a declared Content-Length over the route's cap without reading the
    body, and stops a chunked body as soon as it passes the cap (the app sees a disconnect)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, code = body_limit(scope["path"])
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
        }
        request_id = request_id_from(headers)
        too_large = f"The request body is larger than {limit // MB} MB."
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await _refuse(send, 400, "malformed_request", "Content-Length must be a number.", request_id)
                return
            if int(declared) > limit:
                await _refuse(send, 413, code, too_large, request_id)
                return
        received = 0
        started = False
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await _refuse(send, 413, code, too_large, request_id)
                    # Django treats a disconnect while reading as an aborted request and
                    # stops: nothing more is read, spooled, or answered.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; the app has nothing left to say
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)
