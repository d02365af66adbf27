"""A statement's stored transactions: writing them when the statement completes, and reading
them back to re-screen and re-measure the statement after an underwriter's revenue correction.

Runs inside the caller's transaction, with the deal and statement rows locked
(deals.statement_outcomes, deals.services).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import connection

from deals.categories import categorize_statement
from deals.evidence import transaction_flags, transaction_ref, with_evidence
from deals.models import Statement, Transaction
from deals.parsing.statement import CENT, ParsedStatement, StatementError
from deals.parsing.statement import Transaction as ParsedTransaction
from deals.stored import load_statement_summary, screening_json, to_json
from deals.underwriting import Screening, compute_statement_metrics, screen_transactions

# Amounts are stored as numeric(20, 2); anything this large is a misread, not money.
MAX_AMOUNT = Decimal(10) ** 17
BULK_BATCH = 2000  # rows per UPDATE when a correction changes flags


def _cents(value: Decimal, row: int | None) -> Decimal:
    if not (value.is_finite() and -MAX_AMOUNT < value < MAX_AMOUNT):
        where = f" (row {row})" if row is not None else ""
        raise StatementError(f"An amount in the file is too large to be a real transaction{where}")
    return value.quantize(CENT)


def _text(value: str) -> str:
    # PostgreSQL text cannot hold NUL, which a PDF's text layer may carry.
    return value.replace("\x00", "") if "\x00" in value else value


# Written in this order by `_insert`; `position` orders a statement's rows as parsing did.
_COLUMNS = (
    "statement",
    "deal",
    "position",
    "date",
    "description",
    "counterparty",
    "account",
    "amount",
    "balance",
    "category",
    "flags",
    "counted_as_revenue",
    "revenue_note",
    "revenue_changed_by",
    "row",
)


def store_transactions(
    statement: Statement,
    parsed: ParsedStatement,
    screening: Screening,
    *,
    categories: Sequence[str] | None = None,
    revenue: Sequence[bool] | None = None,
) -> Screening:
    """Store every transaction of a completing statement; return the screening with evidence.

    `categories`/`revenue` come from `categorize_statement` (computed here when not given). The
    returned screening's findings name the stored rows by id. Raises StatementError for an
    amount no bank could have printed.
    """
    if categories is None or revenue is None:
        categories, revenue = categorize_statement(parsed)
    index = {id(t): n for n, t in enumerate(parsed.transactions)}
    flags = transaction_flags(screening, len(parsed.transactions), lambda t: index.get(id(t)))
    # Nearly every row has the same few flag lists; encode each once.
    encoded = {marks: json.dumps(list(marks)) for marks in {tuple(m) for m in flags}}
    statement_id, deal_id = statement.pk, statement.deal_id
    rows = [
        (
            statement_id,
            deal_id,
            n,
            t.date,
            _text(t.description),
            _text(t.counterparty or ""),
            _text(t.account or "")[:100],
            _cents(t.amount, t.row),
            None if t.balance is None else _cents(t.balance, t.row),
            category,
            encoded[tuple(marks)],
            counted,
            "",
            "",
            t.row if t.row is not None and t.row >= 0 else None,
        )
        for n, (t, category, counted, marks) in enumerate(
            zip(parsed.transactions, categories, revenue, flags, strict=True)
        )
    ]
    # A retried completion must not store the transactions twice.
    Transaction.objects.filter(statement_id=statement.pk).delete()
    _insert(rows)
    # Only flagged rows are named by evidence; fetch just their ids.
    flagged = [n for n, marks in enumerate(flags) if marks]
    ids = dict(
        Transaction.objects.filter(statement_id=statement.pk, position__in=flagged).values_list(
            "position", "pk"
        )
    )
    return with_evidence(
        screening,
        lambda t: transaction_ref(t, transaction_id=ids.get(index.get(id(t), -1)), statement_id=statement.pk),
    )


def _insert(rows: list[tuple[Any, ...]]) -> None:
    """Insert rows of `_COLUMNS` values. Through the ORM (`bulk_create`) 10,000 rows took
    seconds, mostly building model instances and adapting each field; PostgreSQL's COPY takes
    tens of milliseconds, and other databases get one prepared statement run many times."""
    meta = Transaction._meta
    table = connection.ops.quote_name(meta.db_table)
    column_of = {field.name: field.column for field in meta.concrete_fields}
    columns = ", ".join(connection.ops.quote_name(column_of[name]) for name in _COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(_COLUMNS))
            # Identifiers come from the model's metadata, values are bound parameters.
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)  # noqa: S608


def stored_statement(statement: Statement) -> tuple[ParsedStatement, list[Transaction]]:
    """The statement as parsing left it (from its stored summary and rows), and the rows."""
    rows = list(statement.transactions.order_by("position"))
    parsed = load_statement_summary(statement.summary or {})
    transactions = tuple(
        ParsedTransaction(
            date=row.date,
            description=row.description,
            amount=row.amount,
            balance=row.balance,
            account=row.account or None,
            counterparty=row.counterparty or None,
            row=row.row,
        )
        for row in rows
    )
    return dataclasses.replace(parsed, transactions=transactions), rows


def remeasure_statement(statement: Statement) -> None:
    """Screen and measure a completed statement again from its stored rows, honouring each row's
    revenue treatment (an underwriter's correction included); store the results and the rows'
    new flags."""
    parsed, rows = stored_statement(statement)
    revenue = [row.counted_as_revenue for row in rows]
    screening = screen_transactions(parsed.transactions, revenue=revenue)
    metrics = compute_statement_metrics(parsed, revenue=revenue)
    index = {id(t): n for n, t in enumerate(parsed.transactions)}
    pks = {id(t): row.pk for t, row in zip(parsed.transactions, rows, strict=True)}
    flags = transaction_flags(screening, len(rows), lambda t: index.get(id(t)))
    changed = []
    for row, marks in zip(rows, flags, strict=True):
        if row.flags != marks:
            row.flags = marks
            changed.append(row)
    Transaction.objects.bulk_update(changed, ["flags"], batch_size=BULK_BATCH)
    screening = with_evidence(
        screening,
        lambda t: transaction_ref(t, transaction_id=pks.get(id(t)), statement_id=statement.pk),
    )
    statement.metrics = to_json(metrics)
    statement.screening = screening_json(screening)
    statement.save(update_fields=["metrics", "screening"])
