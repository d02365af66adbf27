"""A small statement whose every chart and scorecard value is worked out by hand below.

Two months of one account: card deposits, a lender's weekly-ish debits, a rent payment that
takes the balance below zero for five days and an NSF fee. The deal page tests (server-rendered
and in Chromium) read these figures back.
"""

from __future__ import annotations

from typing import Any

from tests.deals.statement_files import csv_bytes

ACCOUNT = "123456789"
ROWS = [
    ("01/02/2024", "CARD SETTLEMENT STRIPE", "3000.00", "4000.00"),
    ("01/05/2024", "ACH DEBIT XYZ FUNDING LLC", "-500.00", "3500.00"),
    ("01/10/2024", "RENT MAIN STREET PROPERTIES", "-4000.00", "-500.00"),
    ("01/11/2024", "NSF FEE", "-35.00", "-535.00"),
    ("01/15/2024", "CARD SETTLEMENT STRIPE", "2000.00", "1465.00"),
    ("01/31/2024", "ACH DEBIT XYZ FUNDING LLC", "-500.00", "965.00"),
    ("02/02/2024", "CARD SETTLEMENT SQUARE", "2500.00", "3465.00"),
    ("02/05/2024", "ACH DEBIT XYZ FUNDING LLC", "-500.00", "2965.00"),
    ("02/20/2024", "PAYROLL SERVICE", "-1000.00", "1965.00"),
    ("02/28/2024", "CARD SETTLEMENT STRIPE", "1500.00", "3465.00"),
]
AMOUNT_REQUESTED = "9000.00"

# By hand: 2 Jan to 28 Feb is 58 days (30 in January, 28 in February).
DAYS = 58
LOWEST = "-535.00"
HIGHEST = "4000.00"
NEGATIVE_DAYS = 5  # 10 to 14 January
MONTHS: dict[str, dict[str, Any]] = {
    "2024-01": {
        "deposits": "5000.00",
        "withdrawals": "5035.00",
        "revenue": "5000.00",
        "revenue_count": 2,
        "lender_repayments": "1000.00",
        "nsf_items": 1,
        "negative_days": 5,
        # (3×4000 + 5×3500 − 500 − 4×535 + 16×1465 + 965) / 30 = 51,265 / 30
        "average_daily_balance": "1708.83",
        "ending_balance": "965.00",
    },
    "2024-02": {
        "deposits": "4000.00",
        "withdrawals": "1500.00",
        "revenue": "4000.00",
        "revenue_count": 2,
        "lender_repayments": "500.00",
        "nsf_items": 0,
        "negative_days": 0,
        # (965 + 3×3465 + 15×2965 + 8×1965 + 3465) / 28 = 75,020 / 28
        "average_daily_balance": "2679.29",
        "ending_balance": "3465.00",
    },
}
# 9,000 of revenue over 58 days, per 30 days; 9,000 requested ÷ 4,655.17.
MONTHLY_REVENUE = "4655.17"
REQUESTED_RATIO = "1.93"


def known_csv() -> bytes:
    return csv_bytes(
        [["Date", "Description", "Amount", "Balance", "Account"]] + [[*row, ACCOUNT] for row in ROWS]
    )
