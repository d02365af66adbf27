"""Parsing and scoring results as they are stored in JSON columns, and read back.

One writer for every result dataclass (`to_json`: `dataclasses.asdict`, with money and
ratios as plain decimal strings, dates in ISO 8601 and tuples as lists) and one typed
loader per stored type. A loader reads every shape ever stored: a field added later has a
default, and a row written before it simply lacks the key.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from deals.parsing.statement import (
    AccountBalances,
    Finding,
    ParsedStatement,
    SkippedRow,
    Transaction,
    money_str,
)
from deals.underwriting import Finding as RedFlag
from deals.underwriting import LenderDebits, Screening, StatementMetrics


def to_json(result: Any) -> dict[str, Any]:
    """A result dataclass as stored: Decimal → "1234.50" (never exponent notation), date → ISO."""
    return dict(dataclasses.asdict(result, dict_factory=lambda pairs: {k: _json_value(v) for k, v in pairs}))


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money_str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    return value


def screening_json(screening: Screening) -> dict[str, Any]:
    """A screening as stored: its fields and, for readers of the JSON, its `flags`."""
    return {**to_json(screening), "flags": screening.flags}


# --- loaders ------------------------------------------------------------------------------


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


def _optional_money(value: Any) -> Decimal | None:
    return None if value is None else _money(value)


def _optional_date(value: Any) -> datetime.date | None:
    return None if value is None else datetime.date.fromisoformat(value)


def _load_transaction(data: Mapping[str, Any]) -> Transaction:
    return Transaction(
        date=datetime.date.fromisoformat(data["date"]),
        description=data["description"],
        amount=_money(data["amount"]),
        balance=_optional_money(data.get("balance")),
        account=data.get("account"),
        counterparty=data.get("counterparty"),
        row=data.get("row"),
    )


def load_statement_summary(data: Mapping[str, Any]) -> ParsedStatement:
    """A statement's stored summary: what parsing found, without its transactions (stored as rows)."""
    return ParsedStatement(
        format=data["format"],
        transactions=(),
        currency=data.get("currency"),
        accounts=tuple(data.get("accounts") or ()),
        opening_balance=_optional_money(data.get("opening_balance")),
        closing_balance=_optional_money(data.get("closing_balance")),
        opening_balance_derived=data.get("opening_balance_derived", False),
        period_start=_optional_date(data.get("period_start")),
        period_end=_optional_date(data.get("period_end")),
        account_type=data.get("account_type") or "checking",
        rows_skipped=tuple(SkippedRow(row["row"], row["reason"]) for row in data.get("rows_skipped") or ()),
        account_balances=tuple(
            AccountBalances(
                account=balances.get("account"),
                opening_balance=_optional_money(balances.get("opening_balance")),
                closing_balance=_optional_money(balances.get("closing_balance")),
                currency=balances.get("currency"),
            )
            for balances in data.get("account_balances") or ()
        ),
        warnings=tuple(
            Finding(w["code"], w["message"], w.get("evidence") or {}) for w in data.get("warnings") or ()
        ),
    )


def load_metrics(data: Mapping[str, Any]) -> StatementMetrics:
    """A statement's stored metrics (stored before revenue was told apart: no non-revenue money)."""
    return StatementMetrics(
        period_start=datetime.date.fromisoformat(data["period_start"]),
        period_end=datetime.date.fromisoformat(data["period_end"]),
        days=data["days"],
        transaction_count=data["transaction_count"],
        balances_derived=data["balances_derived"],
        starting_balance=_money(data["starting_balance"]),
        ending_balance=_money(data["ending_balance"]),
        average_daily_balance=_money(data["average_daily_balance"]),
        lowest_balance=_money(data["lowest_balance"]),
        negative_balance_days=data["negative_balance_days"],
        total_deposits=_money(data["total_deposits"]),
        deposit_count=data["deposit_count"],
        total_withdrawals=_money(data["total_withdrawals"]),
        monthly_deposits={month: _money(amount) for month, amount in data["monthly_deposits"].items()},
        average_deposits_per_30_days=_money(data["average_deposits_per_30_days"]),
        largest_deposit=_money(data["largest_deposit"]),
        largest_deposit_share=_optional_money(data["largest_deposit_share"]),
        deposit_volatility=_optional_money(data["deposit_volatility"]),
        nsf_count=data["nsf_count"],
        overdraft_count=data["overdraft_count"],
        returned_count=data["returned_count"],
        lender_debit_count=data["lender_debit_count"],
        lender_debit_total=_money(data["lender_debit_total"]),
        lenders=tuple(data["lenders"]),
        non_revenue_deposits=_money(data.get("non_revenue_deposits", 0)),
    )


def load_screening(data: Mapping[str, Any]) -> Screening:
    """A statement's stored screening (`flags` is derived from the findings, so not read)."""
    return Screening(
        findings=tuple(
            RedFlag(
                code=finding["code"],
                explanation=finding["explanation"],
                transactions=tuple(_load_transaction(t) for t in finding.get("transactions") or ()),
                evidence=finding.get("evidence") or {},
            )
            for finding in data["findings"]
        ),
        nsf_count=data["nsf_count"],
        overdraft_count=data["overdraft_count"],
        returned_count=data["returned_count"],
        lender_debits=tuple(
            LenderDebits(
                lender=lender["lender"],
                cadence=lender["cadence"],
                count=lender["count"],
                total=_money(lender["total"]),
                typical_amount=_money(lender["typical_amount"]),
                first_date=datetime.date.fromisoformat(lender["first_date"]),
                last_date=datetime.date.fromisoformat(lender["last_date"]),
            )
            for lender in data["lender_debits"]
        ),
    )
