"""List pages shaped `{"results": [...], "next": <url or null>}`."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

MAX_OFFSET = 2**62


class ResultsPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 200

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
            },
        }

    def get_offset(self, request: Any) -> int:
        # Past this nothing can be listed anyway; a larger number would overflow the database's
        # 64-bit OFFSET (a 500) instead of answering an empty page.
        return min(super().get_offset(request), MAX_OFFSET)

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list[Any] | None:
        # Fetch one row past the page instead of running COUNT(*): lists only need `next`.
        self.request = request
        limit = self.get_limit(request)
        if limit is None:
            return None
        offset = self.get_offset(request)
        rows = list(queryset[offset : offset + limit + 1])
        self.limit, self.offset, self.count = limit, offset, offset + len(rows)
        return rows[:limit]
