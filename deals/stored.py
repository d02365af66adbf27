"""Parsing and scoring results as they are stored in JSON columns, and read back.

One writer for every result dataclass (`to_json`: `dataclasses.asdict`, with money and
ratios as plain decimal strings, dates in ISO 8601 and tuples as lists) and one loader
that reads each field back by its declared type. It reads every shape ever stored: a field
added later has a default, and a row written before it simply lacks the key.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

from deals.parsing.statement import ParsedStatement, money_str
from deals.underwriting import Screening, StatementMetrics


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


def load_statement_summary(data: Mapping[str, Any]) -> ParsedStatement:
    """A statement's stored summary: what parsing found, without its transactions (stored as rows)."""
    return _load(ParsedStatement, data, transactions=(), account_type=data.get("account_type") or "checking")


def load_metrics(data: Mapping[str, Any]) -> StatementMetrics:
    """A statement's stored metrics (stored before revenue was told apart: no non-revenue money)."""
    return _load(StatementMetrics, data)


def load_screening(data: Mapping[str, Any]) -> Screening:
    """A statement's stored screening (`flags` is derived from the findings, so not read)."""
    return _load(Screening, data)


_T = TypeVar("_T")


def _load(cls: type[_T], data: Mapping[str, Any], **given: Any) -> _T:
    """A result dataclass from its stored JSON, each field read back by its declared type.

    A key that is missing (the field was added after the row was written) or null takes the
    field's default; a field without a default must be there.
    """
    values = dict(given)
    for name, hint, has_default in _fields(typing.cast(Any, cls)):
        if name in values:
            continue
        if has_default and data.get(name) is None:
            continue
        values[name] = _from_json(hint, data[name])
    return cls(**values)


@functools.cache
def _fields(cls: Any) -> list[tuple[str, Any, bool]]:
    # Resolving the annotations evaluates them; once per class is enough.
    hints = typing.get_type_hints(cls)
    return [
        (
            f.name,
            hints[f.name],
            f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
    ]


def _from_json(hint: Any, raw: Any) -> Any:
    if raw is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _from_json(next(arg for arg in args if arg is not type(None)), raw)
    if hint is Decimal:
        return Decimal(str(raw))
    if hint is datetime.date:
        return datetime.date.fromisoformat(raw)
    if dataclasses.is_dataclass(hint):
        return _load(hint, raw)  # type: ignore[arg-type]
    if origin is tuple:
        return tuple(_from_json(args[0], item) for item in raw)
    if origin is dict:
        return {key: _from_json(args[1], item) for key, item in raw.items()}
    return raw
