"""Which of a deal's stored transactions a list shows: the filters of
`GET /api/v1/deals/{id}/transactions`, shared by the API and the dashboard's transaction table."""

from __future__ import annotations

import datetime

from django.db import connection
from django.db.models import Q, QuerySet

from deals.models import Transaction

# A flag that rests on days rather than on marked rows: its transactions are those that left the
# balance below zero.
NEGATIVE_BALANCE = "negative_balance"

# What a listed transaction shows, in the API (`TransactionOut`) and on the dashboard's table.
TRANSACTION_COLUMNS = (
    "id",
    "statement_id",
    "date",
    "description",
    "counterparty",
    "amount",
    "balance",
    "category",
    "flags",
    "counted_as_revenue",
    "revenue_override",
    "revenue_note",
    "revenue_changed_by",
    "revenue_changed_at",
    "row",
)


def filter_transactions(
    deal_id: int,
    *,
    statement_id: int | None = None,
    category: str | None = None,
    flag: str | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    search: str = "",
    counted: bool | None = None,
) -> QuerySet[Transaction]:
    """A deal's transactions in date order (then file order), narrowed by each filter given.

    `date_from`/`date_to` are inclusive; `search` looks in description and counterparty;
    `counted` keeps the transactions counted as revenue (True) or the others (False).
    """
    rows = Transaction.objects.filter(deal_id=deal_id)
    if statement_id is not None:
        rows = rows.filter(statement_id=statement_id)
    if category:
        rows = rows.filter(category=category)
    if flag == NEGATIVE_BALANCE:
        rows = rows.filter(balance__lt=0)
    elif flag:
        rows = rows.filter(_has_flag(flag))
    if date_from is not None:
        rows = rows.filter(date__gte=date_from)
    if date_to is not None:
        rows = rows.filter(date__lte=date_to)
    if counted is not None:
        rows = rows.filter(counted_as_revenue=counted)
    term = search.strip()
    if term:
        rows = rows.filter(Q(description__icontains=term) | Q(counterparty__icontains=term))
    return rows.order_by("date", "statement_id", "position")


def _has_flag(flag: str) -> Q:
    if connection.features.supports_json_field_contains:
        return Q(flags__contains=[flag])
    # SQLite (embedded mode) has no JSON containment; flag codes are plain words, so the quoted
    # code inside the stored array's text is an exact element match.
    return Q(flags__icontains=f'"{flag}"')
