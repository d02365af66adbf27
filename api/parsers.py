"""Request-body JSON parsing with the limits every endpoint shares: size and nesting depth."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import APIException, ParseError
from rest_framework.settings import api_settings

MB = 1024 * 1024


class JsonBodyError(ValueError):
    """A body that is not acceptable JSON; the message is written for the client."""


class JsonBodyTooLarge(APIException):
    # DRF's own kind of error, not a domain one: the body's size is the transport's business
    # (and DRF imports this module while api.errors is still importing DRF).
    status_code = 413
    default_code = "payload_too_large"


def _reject_constant(name: str) -> Any:
    raise JsonBodyError(f"The request body is not valid JSON: {name} is not a JSON number.")


def nesting_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether `value` nests objects and arrays deeper than `limit` (iterative: no recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, Mapping) else item
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def load_json_body(raw: bytes) -> Any:
    """The parsed body; raises JsonBodyError for bad encoding, bad syntax or too deep nesting.

    The json module recurses once per level and raises RecursionError (a 500 if unhandled)
    near Python's recursion limit; the depth limit also keeps every later step (serializers,
    fingerprints, stored JSON) far away from it.
    """
    limit = int(settings.MAX_JSON_DEPTH)
    too_deep = f"The JSON body nests objects or arrays deeper than {limit} levels."
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonBodyError("The request body is not valid UTF-8.") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant if api_settings.STRICT_JSON else None)
    except RecursionError:
        raise JsonBodyError(too_deep) from None
    except JsonBodyError:
        raise
    except ValueError as exc:
        raise JsonBodyError(f"The request body is not valid JSON: {exc}") from None
    if isinstance(data, (dict, list)) and nesting_depth_exceeds(data, limit):
        raise JsonBodyError(too_deep)
    return data


class BoundedJSONParser(parsers.JSONParser):
    """DRF's JSON parser, reading at most MAX_JSON_BODY_MB and refusing deep nesting."""

    def parse(
        self, stream: IO[bytes] | None, media_type: str | None = None, parser_context: Any = None
    ) -> Any:
        limit = int(settings.MAX_JSON_BODY_MB) * MB
        # The ASGI layer already refused larger bodies; reading one byte more keeps this
        # parser safe under any other server too.
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise JsonBodyTooLarge(f"The JSON body is larger than {settings.MAX_JSON_BODY_MB} MB.")
        try:
            return load_json_body(raw)
        except JsonBodyError as exc:
            raise ParseError(str(exc)) from None
