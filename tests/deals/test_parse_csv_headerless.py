"""Headerless exports: separate debit and credit columns, and the statement's own account.

Without a header, which of two amount columns is money out is read from the running balance
(previous + credit − debit = balance); without a balance, the order banks export them in is
assumed and the statement says so.
"""

from __future__ import annotations

from decimal import Decimal

from deals.parsing import ParsedStatement, extract_document, parse_document


def parse(text: str) -> ParsedStatement:
    return parse_document(extract_document(text.encode()))


def amounts(statement: ParsedStatement) -> list[Decimal]:
    return [t.amount for t in statement.transactions]


def codes(statement: ParsedStatement) -> set[str]:
    return {w.code for w in statement.warnings}


def test_it_tells_debit_from_credit_by_the_running_balance():
    # TD-style: date, description, withdrawal, deposit, balance.
    statement = parse(
        "04/03/2024,CARD SETTLEMENT STRIPE,,2896.27,7217.36\n"
        "04/05/2024,VERIZON WIRELESS,1342.02,,5875.34\n"
        "04/07/2024,RENT OAK PLAZA LLC,1285.01,,4590.33\n"
        "04/08/2024,ACH CREDIT SHOPIFY,,1241.49,5831.82\n"
    )
    assert amounts(statement) == [
        Decimal("2896.27"),
        Decimal("-1342.02"),
        Decimal("-1285.01"),
        Decimal("1241.49"),
    ]
    assert statement.transactions[-1].balance == Decimal("5831.82")
    assert "debit_credit_order_assumed" not in codes(statement)


def test_it_follows_the_balance_when_credits_come_before_debits():
    # Credit first, then debit, newest first: only the balance can say which is which.
    statement = parse(
        "2024-03-08,ACH CREDIT SHOPIFY,1241.49,,5831.82\n"
        "2024-03-07,RENT OAK PLAZA LLC,,1285.01,4590.33\n"
        "2024-03-05,VERIZON WIRELESS,,1342.02,5875.34\n"
        "2024-03-03,CARD SETTLEMENT STRIPE,2896.27,,7217.36\n"
    )
    assert amounts(statement) == [
        Decimal("2896.27"),
        Decimal("-1342.02"),
        Decimal("-1285.01"),
        Decimal("1241.49"),
    ]
    assert "debit_credit_order_assumed" not in codes(statement)


def test_without_a_balance_it_reads_debit_then_credit_and_says_it_assumed_so():
    # CIBC-style: date, description, debit, credit.
    statement = parse(
        "2024-05-02,ACH CREDIT SHOPIFY,,1122.64\n"
        "2024-05-07,PAYROLL GUSTO,1751.09,\n"
        "2024-05-10,SHELL OIL 5521,778.03,\n"
        "2024-05-11,MOBILE DEPOSIT,,340.17\n"
    )
    assert amounts(statement) == [
        Decimal("1122.64"),
        Decimal("-1751.09"),
        Decimal("-778.03"),
        Decimal("340.17"),
    ]
    (finding,) = [w for w in statement.warnings if w.code == "debit_credit_order_assumed"]
    assert finding.evidence == {"debit_column": 2, "credit_column": 3}


def test_an_amount_beside_a_column_of_check_numbers_is_not_a_debit_credit_pair():
    # Wells Fargo-style: date, amount, "*", check number, description.
    statement = parse(
        '"01/03/2024","-250.00","*","1041","CHECK 1041"\n'
        '"01/04/2024","1200.50","*","","MOBILE DEPOSIT"\n'
        '"01/05/2024","-75.10","*","","SHELL OIL"\n'
        '"01/08/2024","-90.00","*","","STAPLES"\n'
        '"01/09/2024","310.00","*","","ACH CREDIT"\n'
        '"01/10/2024","-12.34","*","","COFFEE"\n'
        '"01/11/2024","-45.00","*","","FUEL"\n'
        '"01/12/2024","500.00","*","","DEPOSIT"\n'
        '"01/15/2024","-60.00","*","","PHONE"\n'
        '"01/16/2024","-20.00","*","","PARKING"\n'
    )
    assert amounts(statement)[:2] == [Decimal("-250.00"), Decimal("1200.50")]
    assert "debit_credit_order_assumed" not in codes(statement)


def test_a_headerless_files_own_iban_is_its_account_and_the_other_partys_is_not():
    # Rabobank classic: own IBAN, currency, date, D/C, unsigned amount, counterparty IBAN, name.
    statement = parse(
        '"NL20RABO0300012345","EUR",20240201,"D",380.67,"NL63INGB0006328470","BELASTINGDIENST"\n'
        '"NL20RABO0300012345","EUR",20240206,"C",2068.45,"NL57INGB0005712192","KLANT DE VRIES"\n'
        '"NL20RABO0300012345","EUR",20240208,"C",1938.40,"NL71INGB0007104459","MOLLIE UITBETALING"\n'
        '"NL20RABO0300012345","EUR",20240211,"D",88.37,"NL34INGB0003462041","SALARIS"\n'
    )
    assert statement.accounts == ("NL20RABO0300012345",)
    assert statement.currency == "EUR"
    assert amounts(statement) == [
        Decimal("-380.67"),
        Decimal("2068.45"),
        Decimal("1938.40"),
        Decimal("-88.37"),
    ]
    first = statement.transactions[0]
    assert first.counterparty == "NL63INGB0006328470"
    assert first.description == "BELASTINGDIENST"
