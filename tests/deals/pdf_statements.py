"""Business checking statements in the shapes US banks print, as lines for `text_pdf`.

Written for these tests: a summary table, transaction sections, a check table, a daily ending
balance table and a service charge summary, the way bank statements lay them out.
"""

from __future__ import annotations

SUMMARY = [
    "March 1, 2024 through March 31, 2024",
    "Primary Account: 000000123456789",
    "Harbor Lane Coffee LLC",
    "CHECKING SUMMARY",
    "INSTANCES AMOUNT",
    "Beginning Balance $12,500.00",
    "Deposits and Additions 3 9,350.00",
    "Checks Paid 3 - 2,730.00",
    "ATM & Debit Card Withdrawals 1 - 84.12",
    "Electronic Withdrawals 2 - 4,210.00",
    "Fees 1 - 15.00",
    "Ending Balance 10 $14,810.88",
]
DEPOSITS = [
    "DEPOSITS AND ADDITIONS",
    "DATE DESCRIPTION AMOUNT",
    "03/04 Card Settlement Square Inc $4,200.00",
    "03/11 Remote Online Deposit 1,650.00",
    "03/25 Card Settlement Square Inc 3,500.00",
    "Total Deposits and Additions $9,350.00",
]
CHECKS = [
    "CHECKS PAID",
    "CHECK NUMBER DATE PAID AMOUNT",
    "1041 ^ 03/06 $1,200.00",
    "1042 03/14 980.00",
    "1044 * 03/20 550.00",
    "Total Checks Paid $2,730.00",
]
CARD_AND_ELECTRONIC = [
    "ATM & DEBIT CARD WITHDRAWALS",
    "DATE DESCRIPTION AMOUNT",
    "03/08 Card Purchase Restaurant Depot 84.12",
    "Total ATM & Debit Card Withdrawals $84.12",
    "ELECTRONIC WITHDRAWALS",
    "DATE DESCRIPTION AMOUNT",
    "03/15 Orig CO Name:Gusto Payroll 3,460.00",
    "03/28 Orig CO Name:Landlord Props Rent 750.00",
    "Total Electronic Withdrawals $4,210.00",
    "FEES",
    "03/29 Monthly Service Fee 15.00",
    "Total Fees $15.00",
]
DAILY_BALANCES = [
    "DAILY ENDING BALANCE",
    "DATE AMOUNT DATE AMOUNT",
    "03/04 16,700.00 03/15 12,625.88",
    "03/06 15,500.00 03/20 12,075.88",
    "03/08 15,415.88 03/25 15,575.88",
    "03/11 17,065.88 03/28 14,825.88",
    "03/14 16,085.88 03/29 14,810.88",
    "03/31 14,810.88",
    "SERVICE CHARGE SUMMARY",
    "Checks Paid / Debits 6",
    "Deposits / Credits 3",
    "Service Fee $15.00",
    "Page 2 of 2",
]


def checking_statement() -> list[str]:
    """Opening 12,500.00 + 9,350.00 - 2,730.00 - 84.12 - 4,210.00 - 15.00 = 14,810.88."""
    return SUMMARY + DEPOSITS + CHECKS + CARD_AND_ELECTRONIC + DAILY_BALANCES
