"""Categories, the revenue definition, and the evidence screening findings carry (pure functions)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from deals.categories import CATEGORIES, categorize, categorize_statement, counts_as_revenue, own_account_keys
from deals.evidence import deal_flag_details, transaction_flags, transaction_ref, with_evidence
from deals.parsing import ParsedStatement, Transaction
from deals.underwriting import compute_metrics, compute_statement_metrics, score_deal, screen_transactions
from tests.deals.ledger_files import CARD, LENDER_FUNDING, NSF_DATES, OWN_TRANSFER, card_revenue, risky_rows

DAY = datetime.date(2024, 3, 4)


def tx(description: str, amount: str, counterparty: str | None = None) -> Transaction:
    return Transaction(DAY, description, Decimal(amount), counterparty=counterparty)


def risky_statement(account_type: str = "checking") -> ParsedStatement:
    return ParsedStatement(
        format="csv",
        transactions=tuple(Transaction(d, text, amount) for d, text, amount in risky_rows()),
        account_type=account_type,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("description", "amount", "category"),
    [
        ("CARD SETTLEMENT STRIPE", "1500.00", "card_settlement"),
        ("SQUARE INC DEPOSIT 240304", "812.40", "card_settlement"),
        ("STRIPE TRANSFER FEE", "-12.00", "card_settlement"),
        ("INVOICE 1042 ACME HOLDINGS", "2300.00", "revenue"),
        ("MOBILE CHECK DEPOSIT", "400.00", "revenue"),
        ("ONLINE TRANSFER FROM SAVINGS XXXX4471", "5000.00", "own_transfer"),
        ("Online Transfer to CHK ...1234 transaction#: 998", "-700.00", "own_transfer"),
        ("INTERNAL TRANSFER", "300.00", "own_transfer"),
        ("Umbuchung Tagesgeld", "-1000.00", "own_transfer"),
        ("WIRE TRANSFER FROM NORTHWIND TRADERS", "9000.00", "revenue"),
        ("ACH CREDIT XYZ FUNDING LLC ADVANCE", "20000.00", "lender_funding"),
        ("ACH DEBIT XYZ FUNDING LLC 0412", "-500.00", "lender_repayment"),
        ("SBA LOAN DISBURSEMENT", "50000.00", "lender_funding"),
        ("NSF FEE", "-35.00", "nsf_fee"),
        ("INSUFFICIENT FUNDS CHARGE", "-35.00", "nsf_fee"),
        ("NSF FEE REVERSAL", "35.00", "nsf_fee"),
        ("OVERDRAFT FEE", "-29.00", "overdraft_fee"),
        ("RETURNED DEPOSITED ITEM", "-400.00", "other"),
        ("RETURNED ITEM CREDIT", "400.00", "other"),
        ("PAYROLL GUSTO", "-4000.00", "payroll"),
        ("ADP WAGE PAY", "-3800.00", "payroll"),
        ("IRS USATAXPYMT", "-1200.00", "tax"),
        ("Finanzamt Muenchen Umsatzsteuer", "-800.00", "tax"),
        ("HOME DEPOT #4411", "-230.00", "other"),
    ],
)
def test_it_categorises_by_description(description: str, amount: str, category: str) -> None:
    assert categorize(tx(description, amount)) == category


def test_the_categories_are_the_contracts() -> None:
    assert set(CATEGORIES) == {
        "revenue",
        "own_transfer",
        "lender_funding",
        "lender_repayment",
        "nsf_fee",
        "overdraft_fee",
        "card_settlement",
        "payroll",
        "tax",
        "other",
    }


def test_it_reads_the_counterparty_too() -> None:
    assert categorize(tx("ACH CREDIT", "9000.00", counterparty="XYZ CAPITAL LLC")) == "lender_funding"
    assert categorize(tx("SEPA CREDIT", "900.00", counterparty="Stripe Payments Europe")) == "card_settlement"


def test_a_transfer_from_another_account_of_the_same_file_is_an_own_transfer() -> None:
    statement = ParsedStatement(
        format="ofx",
        transactions=(tx("TRANSFER", "1000.00", counterparty="DE89 3704 0044 0532 0130 00"),),
        accounts=("DE89370400440532013000", "DE02120300000000202051"),
    )
    own = own_account_keys(statement)
    assert categorize(statement.transactions[0], own_accounts=own) == "own_transfer"
    assert categorize(statement.transactions[0]) == "revenue"


def test_revenue_is_deposits_without_own_transfers_and_lender_funding() -> None:
    categories, counted = categorize_statement(risky_statement())
    revenue = [t for t, c in zip(risky_statement().transactions, counted, strict=True) if c]
    assert {t.description for t in revenue} == {"CARD SETTLEMENT STRIPE"}
    assert categories.count("lender_funding") == 1
    assert categories.count("own_transfer") == 1
    assert categories.count("nsf_fee") == len(NSF_DATES)


def test_a_card_statement_has_no_revenue() -> None:
    payment = tx("PAYMENT THANK YOU", "1200.00")
    assert counts_as_revenue(payment, categorize(payment), "checking") is True
    assert counts_as_revenue(payment, categorize(payment), "credit_card") is False
    _, counted = categorize_statement(risky_statement("credit_card"))
    assert not any(counted)


def test_metrics_count_only_revenue_as_deposits() -> None:
    metrics = compute_statement_metrics(risky_statement())
    revenue = card_revenue()
    assert metrics.total_deposits == revenue
    assert metrics.non_revenue_deposits == LENDER_FUNDING + OWN_TRANSFER
    assert sum(metrics.monthly_deposits.values(), Decimal(0)) == revenue
    assert metrics.largest_deposit == CARD
    assert metrics.deposit_count == sum(1 for _, d, _ in risky_rows() if d == "CARD SETTLEMENT STRIPE")


def test_a_revenue_correction_changes_the_metrics() -> None:
    statement = risky_statement()
    _, counted = categorize_statement(statement)
    funding = next(n for n, t in enumerate(statement.transactions) if t.amount == LENDER_FUNDING)
    counted[funding] = True
    metrics = compute_statement_metrics(statement, revenue=counted)
    assert metrics.total_deposits == card_revenue() + LENDER_FUNDING
    assert metrics.non_revenue_deposits == OWN_TRANSFER


def test_compute_metrics_refuses_a_revenue_mask_of_another_length() -> None:
    with pytest.raises(ValueError, match="zip"):
        compute_metrics([tx("A", "1.00"), tx("B", "2.00")], revenue=[True])


def refs(statement: ParsedStatement) -> dict[int, int]:
    return {id(t): 1000 + n for n, t in enumerate(statement.transactions)}


def test_findings_name_each_transaction_they_rest_on() -> None:
    statement = risky_statement()
    _, counted = categorize_statement(statement)
    ids = refs(statement)
    screening = with_evidence(
        screen_transactions(statement.transactions, revenue=counted),
        lambda t: transaction_ref(t, transaction_id=ids[id(t)], statement_id=7),
    )
    by_code = {f.code: f for f in screening.findings}
    assert set(by_code) == {"nsf", "loan_stacking"}

    nsf = by_code["nsf"].evidence
    assert nsf["count"] == 2
    assert nsf["total"] == "70.00"
    assert [(item["date"], item["amount"], item["statement_id"]) for item in nsf["transactions"]] == [
        (d.isoformat(), "-35.00", 7) for d in NSF_DATES
    ]
    assert all(item["id"] >= 1000 for item in nsf["transactions"])

    (lender,) = by_code["loan_stacking"].evidence["lenders"]
    debits = [(d, a) for d, text, a in risky_rows() if text == "ACH DEBIT XYZ FUNDING LLC"]
    assert lender["lender"] == "XYZ FUNDING"
    assert lender["cadence"] == "weekly"
    assert lender["count"] == len(debits)
    assert lender["total"] == f"{-sum(a for _, a in debits):.2f}"
    assert lender["first_date"] == debits[0][0].isoformat()
    assert [item["date"] for item in lender["transactions"]] == [d.isoformat() for d, _ in debits]
    # The funding deposit is not a repayment: it is not part of the stacking evidence.
    assert all(item["amount"] == "-500.00" for item in lender["transactions"])


def test_each_transaction_carries_the_flags_of_its_findings() -> None:
    statement = risky_statement()
    screening = screen_transactions(statement.transactions)
    index = {id(t): n for n, t in enumerate(statement.transactions)}
    flags = transaction_flags(screening, len(statement.transactions), lambda t: index[id(t)])
    flagged = {statement.transactions[n].description: marks for n, marks in enumerate(flags) if marks}
    assert flagged == {
        "NSF FEE RETURNED ITEM CHARGE": ["nsf"],
        "ACH DEBIT XYZ FUNDING LLC": ["loan_stacking"],
    }


def test_a_deals_flags_each_carry_evidence() -> None:
    statement = risky_statement()
    _, counted = categorize_statement(statement)
    ids = refs(statement)
    screening = with_evidence(
        screen_transactions(statement.transactions, revenue=counted),
        lambda t: transaction_ref(t, transaction_id=ids[id(t)], statement_id=7),
    )
    metrics = compute_statement_metrics(statement, revenue=counted)
    score = score_deal([metrics], [screening])
    details = deal_flag_details(score, [(7, metrics, screening)])
    assert [d["code"] for d in details] == score.flags
    assert all(d["evidence"] and d["explanation"] for d in details)
    nsf = next(d for d in details if d["code"] == "nsf")
    assert nsf["evidence"]["transaction_count"] == 2
    assert nsf["evidence"]["truncated"] is False
    stacking = next(d for d in details if d["code"] == "loan_stacking")
    (lender,) = stacking["evidence"]["lenders"]
    assert lender["statement_ids"] == [7]
    assert lender["transaction_count"] == lender["count"]


def test_a_debit_never_counts_as_revenue_whatever_the_mask_says() -> None:
    metrics = compute_metrics([tx("CARD SETTLEMENT", "100.00"), tx("RENT", "-50.00")], revenue=[True, True])
    assert metrics.total_deposits == Decimal("100.00")
    assert metrics.deposit_count == 1
