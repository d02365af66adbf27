"""A statement with something of every kind (revenue, lender money, own transfers, NSF fees,
payroll, tax) and helpers to push it through the real pipeline in-process."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from rest_framework.test import APIClient

from tests.deals.statement_files import csv_bytes
from tests.jobs.factories import upload

START = datetime.date(2024, 1, 1)
CARD = Decimal("1500.00")
LENDER_FUNDING = Decimal("20000.00")
OWN_TRANSFER = Decimal("5000.00")
LENDER_DEBIT = Decimal("-500.00")
NSF_DATES = (datetime.date(2024, 1, 15), datetime.date(2024, 2, 12))


def risky_rows(days: int = 60, start: datetime.date = START) -> list[tuple[datetime.date, str, Decimal]]:
    """Card settlements every weekday, a lender's funding and its weekly debits, an own
    transfer, two NSF fees, payroll twice a month and one tax payment."""
    rows: list[tuple[datetime.date, str, Decimal]] = []
    for offset in range(days):
        day = start + datetime.timedelta(days=offset)
        if day == start + datetime.timedelta(days=1):
            rows.append((day, "ACH CREDIT XYZ FUNDING LLC ADVANCE", LENDER_FUNDING))
        if day == start + datetime.timedelta(days=9):
            rows.append((day, "ONLINE TRANSFER FROM SAVINGS XXXX4471", OWN_TRANSFER))
        if day.weekday() < 5:
            rows.append((day, "CARD SETTLEMENT STRIPE", CARD))
        if day.weekday() == 0:
            rows.append((day, "ACH DEBIT XYZ FUNDING LLC", LENDER_DEBIT))
        if day in NSF_DATES:
            rows.append((day, "NSF FEE RETURNED ITEM CHARGE", Decimal("-35.00")))
        if day.day in (1, 15):
            rows.append((day, "PAYROLL GUSTO", Decimal("-4000.00")))
        if day == datetime.date(2024, 2, 1):
            rows.append((day, "IRS USATAXPYMT", Decimal("-1200.00")))
    return rows


def risky_csv(days: int = 60, start: datetime.date = START) -> bytes:
    balance = Decimal("1000.00")
    lines: list[list[object]] = [["Date", "Description", "Amount", "Balance"]]
    for day, description, amount in risky_rows(days, start):
        balance += amount
        lines.append([day.isoformat(), description, f"{amount:.2f}", f"{balance:.2f}"])
    return csv_bytes(lines)


def card_revenue(days: int = 60, start: datetime.date = START) -> Decimal:
    return sum((a for _, d, a in risky_rows(days, start) if d == "CARD SETTLEMENT STRIPE"), Decimal(0))


def create_deal(api: APIClient, name: str = "Bolt Logistics") -> int:
    response = api.post("/api/v1/deals", {"business_name": name}, format="json")
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def upload_processed(
    api: APIClient, deal_id: int, content: bytes, capture: Any, name: str = "jan.csv"
) -> int:
    """Upload a statement and run its job to the end (jobs run inline after commit in tests)."""
    with capture(execute=True):
        response = api.post(
            f"/api/v1/deals/{deal_id}/statements", {"file": upload(name, content)}, format="multipart"
        )
    assert response.status_code == 202, response.content
    return int(response.json()["statement_id"])


def read_only_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client
