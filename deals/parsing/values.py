"""Reading dates and amounts written the many ways banks write them, decided once per file.

Regexes rather than `strptime`: a 10,000-row file tried against a dozen formats must stay fast.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Literal

DateOrder = Literal["mdy", "dmy"]

_MONTH_ABBREVIATIONS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {**{name: number for number, name in enumerate(_MONTH_ABBREVIATIONS, start=1)}, "sept": 9}
_MONTH_NAMES = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)

# A time of day after a date ("2024-01-15 10:22:00", "2024-01-15T10:22:00Z", "01/15/2024 3:05 PM").
_TIME_SUFFIX = re.compile(
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s?(?:[AaPp]\.?[Mm]\.?)?(?:Z|[+-]\d{2}:?\d{2})?)$"
)
# `2012:03:01` is what some exports (and EXIF-minded tools) write; the colon is read like a dash.
_ISO = re.compile(r"(\d{4})[-/.:](\d{1,2})[-/.:](\d{1,2})")
_COMPACT = re.compile(r"((?:19|20)\d{2})(\d{2})(\d{2})")
_NUMERIC = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})")
_DAY_MONTH_NAME = re.compile(rf"(\d{{1,2}})[ \-./]*({_MONTH_NAMES})\.?[ \-./,]*(\d{{4}}|\d{{2}})", re.I)
_MONTH_NAME_DAY = re.compile(
    rf"({_MONTH_NAMES})\.?[ \-]*(\d{{1,2}})(?:st|nd|rd|th)?,?[ \-]*(\d{{4}}|\d{{2}})", re.I
)


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        # Two-digit years on bank exports are this century; 70-99 are the previous one.
        year += 2000 if year < 70 else 1900
    return year


def safe_date(year: int, month: int, day: int) -> datetime.date | None:
    """The date, or None when there is no such day (February 30th)."""
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


@dataclass(frozen=True)
class _Numeric:
    """A date like 03/04/2024 whose day/month order is only known once the whole file is seen."""

    first: int
    second: int
    year: int
    separator: str

    def as_order(self, order: DateOrder) -> datetime.date | None:
        if order == "mdy":
            return safe_date(self.year, self.first, self.second)
        return safe_date(self.year, self.second, self.first)


def _classify(raw: str) -> datetime.date | _Numeric | None:
    text = raw.strip().strip('"').strip()
    if not text or len(text) > 40:
        return None
    text = _TIME_SUFFIX.sub("", text).strip()
    if m := _ISO.fullmatch(text):
        return safe_date(int(m[1]), int(m[2]), int(m[3]))
    if m := _NUMERIC.fullmatch(text):
        return _Numeric(int(m[1]), int(m[3]), _year(m[4]), m[2])
    if m := _COMPACT.fullmatch(text):
        return safe_date(int(m[1]), int(m[2]), int(m[3]))
    if m := _DAY_MONTH_NAME.fullmatch(text):
        return safe_date(_year(m[3]), _MONTHS[m[2][:3].lower()], int(m[1]))
    if m := _MONTH_NAME_DAY.fullmatch(text):
        return safe_date(_year(m[3]), _MONTHS[m[1][:3].lower()], int(m[2]))
    return None


def looks_like_date(raw: str) -> bool:
    """True if the text is a date in some order (used to find the date column of a headerless file)."""
    value = _classify(raw)
    if isinstance(value, _Numeric):
        return value.as_order("mdy") is not None or value.as_order("dmy") is not None
    return value is not None


def _monotonic(dates: Sequence[datetime.date]) -> bool:
    ascending = all(a <= b for a, b in pairwise(dates))
    return ascending or all(a >= b for a, b in pairwise(dates))


class DateReader:
    """Reads the dates of one file, choosing month/day order from all of them at once.

    The order is the one under which every ambiguous date is valid; when both are, the one under
    which the dates run in order (statements are sorted); then a file using EU decimals or dots
    (15.01.2024) reads day-first; otherwise month-first (US).
    """

    def __init__(self, samples: Iterable[str], *, prefer_dmy: bool = False) -> None:
        self._cache: dict[str, datetime.date | None] = {}
        numerics = [value for value in map(_classify, samples) if isinstance(value, _Numeric)]
        self.order = self._choose(numerics, prefer_dmy)

    @staticmethod
    def _choose(numerics: list[_Numeric], prefer_dmy: bool) -> DateOrder:
        if not numerics:
            return "dmy" if prefer_dmy else "mdy"
        as_mdy = [n.as_order("mdy") for n in numerics]
        as_dmy = [n.as_order("dmy") for n in numerics]
        mdy_valid = sum(d is not None for d in as_mdy)
        dmy_valid = sum(d is not None for d in as_dmy)
        if mdy_valid != dmy_valid:
            return "mdy" if mdy_valid > dmy_valid else "dmy"
        mdy_sorted = _monotonic([d for d in as_mdy if d is not None])
        dmy_sorted = _monotonic([d for d in as_dmy if d is not None])
        if mdy_sorted != dmy_sorted:
            return "mdy" if mdy_sorted else "dmy"
        if prefer_dmy or any(n.separator == "." for n in numerics):
            return "dmy"
        return "mdy"

    def parse(self, raw: str) -> datetime.date | None:
        """The date in `raw`, or None when the text is not a date."""
        if raw not in self._cache:
            value = _classify(raw)
            self._cache[raw] = value.as_order(self.order) if isinstance(value, _Numeric) else value
        return self._cache[raw]

    def period(self, first: str, last: str) -> tuple[datetime.date | None, datetime.date | None]:
        """The period a statement states from `first` to `last`; (None, None) unless both are dates
        in that order."""
        start, end = self.parse(first), self.parse(last)
        if start is None or end is None or start > end:
            return None, None
        return start, end


# Amounts -------------------------------------------------------------------------------------------

_CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
_ISO_CODES = "USD EUR GBP CAD AUD NZD CHF JPY SEK NOK DKK PLN CZK HUF MXN INR ZAR SGD HKD BRL"
_ISO_CURRENCIES = frozenset(_ISO_CODES.split())
_CURRENCY_RE = re.compile(
    r"US\$|C\$|A\$|[$€£¥₹]|(?<![A-Za-z])(?:" + "|".join(sorted(_ISO_CURRENCIES)) + r")(?![A-Za-z])"
)
_SPACES_RE = re.compile(r"[\s\u00a0\u2007\u202f\u2009]+")
_DRCR_RE = re.compile(
    r"^(?P<body>.*?)\s*(?P<tag>CR|DR|Cr|Dr|cr|dr)\.?$|^(?P<tag2>CR|DR|Cr|Dr|cr|dr)\.?\s*(?P<body2>.*)$"
)
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_DECIMAL_EVIDENCE = re.compile(r"([.,])(\d{1,2})(?:\D*)$")
MAX_DIGITS = 15  # more than 999 trillion is not a bank statement amount
_PLAIN_POINT = re.compile(r"-?\d{1,15}(?:\.\d{1,2})?")
_PLAIN_COMMA = re.compile(r"-?\d{1,15}(?:,\d{1,2})?")


def detect_currency(raw: str) -> str | None:
    """The currency an amount cell names (symbol or ISO code), if any."""
    match = _CURRENCY_RE.search(raw)
    if not match:
        return None
    symbol = match.group(0)
    if symbol in _ISO_CURRENCIES:
        return symbol
    return {"C$": "CAD", "A$": "AUD"}.get(symbol) or _CURRENCY_SYMBOLS.get(symbol[-1])


def infer_decimal_comma(cells: Iterable[str], *, prefer_comma: bool = False) -> bool:
    """Decide for a whole file whether `1.234,56` (EU) or `1,234.56` (US) is the style.

    Evidence is a separator followed by one or two final digits; "1,234" alone says nothing.
    """
    marks = Counter(match[1] for match in map(_DECIMAL_EVIDENCE.search, cells) if match)
    if marks[","] == marks["."]:
        return prefer_comma
    return marks[","] > marks["."]


def parse_amount(raw: str, *, decimal_comma: bool = False) -> Decimal | None:
    """The signed amount in a cell, None for an empty cell; ValueError when it is not a number.

    Handles currency symbols and codes, thousands separators, parentheses and trailing minus for
    negatives, and CR/DR markers (DR is a debit, so negative).
    """
    text = raw.strip()
    # Most cells of most files are plain (`-1190.00`): read them without the general path.
    if (_PLAIN_COMMA if decimal_comma else _PLAIN_POINT).fullmatch(text):
        return Decimal(text.replace(",", ".") if decimal_comma else text)
    if text in {"", "-", "--", "—", "–"}:
        return None
    if len(text) > 60:
        raise ValueError(f"not an amount: {raw[:60]!r}")
    negative = False
    match = _DRCR_RE.match(text)
    if match:
        tag = (match["tag"] or match["tag2"]).upper()
        text = match["body"] if match["tag"] else match["body2"]
        negative = tag == "DR"
    text = _CURRENCY_RE.sub("", text)
    text = _SPACES_RE.sub("", text).replace("−", "-")
    if text.startswith("(") and text.endswith(")"):
        negative = not negative
        text = text[1:-1]
    for _ in range(2):  # signs may sit on either side of a leftover bracket or each other
        if text.startswith("-"):
            negative = not negative
            text = text[1:]
        elif text.startswith("+"):
            text = text[1:]
        if text.endswith("-"):
            negative = not negative
            text = text[:-1]
        elif text.endswith("+"):
            text = text[:-1]
    if decimal_comma:
        text = text.replace(".", "").replace("'", "").replace(",", ".")
    else:
        text = text.replace(",", "").replace("'", "")
    if not _NUMBER_RE.fullmatch(text) or sum(c.isdigit() for c in text) > MAX_DIGITS:
        raise ValueError(f"not an amount: {raw!r}")
    value = Decimal(text)  # a valid literal: _NUMBER_RE allows only digits and one point
    return -value if negative else value


def parse_amount_or_none(raw: str | None, *, decimal_comma: bool = False) -> Decimal | None:
    """`parse_amount` for optional figures (summary lines): None when absent or unreadable."""
    if raw is None:
        return None
    try:
        return parse_amount(raw, decimal_comma=decimal_comma)
    except ValueError:
        return None


def has_decimal_part(raw: str) -> bool:
    """True if the cell ends in a separator and one or two digits (`12.50`, `1.234,5`, `9,99 €`)."""
    return _DECIMAL_EVIDENCE.search(raw) is not None


def looks_like_amount(raw: str) -> bool:
    """True if the cell reads as an amount in either decimal style."""
    # A cell with a digit is never an empty one: parse_amount reads it or raises.
    return any(c.isdigit() for c in raw) and any(
        parse_amount_or_none(raw, decimal_comma=comma) is not None for comma in (False, True)
    )
