"""The statement corpus: every file read by the real parsers and compared with expected.json.

The corpus-wide check prints `statements: N/M correct, K silently wrong` and fails on any silently
wrong file (different numbers and no warning); each failure class has its own test over the files
the manifest tags with it, so a regression names the class it belongs to.
"""

from __future__ import annotations

import pytest

from tests.corpus.conftest import SUMMARY
from tests.corpus.corpus_check import (
    FILES,
    check,
    manifest,
    pdf_descriptions,
    reconciler,
    summary_line,
    tagged,
)

# Each failure class of the corpus and the test that covers it (see tests/corpus/README.md).
CLASSES = {
    "value_date_column": "a value-date column beside the booking date is never the amount",
    "indicator_column": "a D/C, S/H, Af/Bij, Dr/Cr or D/K column gives the sign",
    "misleading_amount_header": "amount-like headers (Shipping and Handling Amount, yes/no columns) do not win",
    "unknown_amount_header": "an amount under an unfamiliar header is found beside record-code columns",
    "summary_rows": "opening, closing and turnover rows are not transactions",
    "not_a_transaction_list": "balance histories and positions-only files are refused in plain words",
    "card_statement": "card statements keep card signs: purchases are outflows",
    "pdf_statement": "PDF statements are read",
    "pdf_summary_table": "PDF summary tables are not transactions",
    "pdf_check_lines": "PDF lines that begin with a check number are read",
    "pdf_daily_balance_table": "PDF daily balance tables are not transactions",
    "pdf_sectioned_withdrawals": "PDF withdrawals get their sign from their section",
    "pdf_opening_closing": "PDF opening and closing balances are read and compared",
    "ofx_several_accounts": "every account of an OFX file is read",
    "ofx_quirks": "OFX quirks real producers emit are tolerated",
    "ofx_implausible_period": "an implausible OFX period is replaced by the data's",
    "ofx_card": "OFX card statements (CCSTMTRS) are read",
    "non_english_headers": "headers of common non-English exports are understood",
    "utf16": "Excel 'Unicode text' (UTF-16) is read",
    "odd_dates": "unusual date formats are read",
    "unreadable_cell": "one unreadable cell is skipped and counted",
    "counterparty_iban": "a counterparty's IBAN is not the statement's account",
    "balances_above_table": "balances printed above the table are used",
    "newest_first": "newest-first files come out in date order",
    "headerless": "headerless exports are read",
    "running_balance": "running-balance columns are read",
}


def assert_correct(name: str) -> None:
    outcome = check(name)
    assert outcome.correct, outcome.describe()


def test_it_reads_the_whole_corpus_and_nothing_is_silently_wrong(pytestconfig: pytest.Config) -> None:
    outcomes = [check(name) for name in sorted(manifest())]
    lines = [summary_line(outcomes)]
    if reconciler() is None:
        lines.append("reconciliation: not compared (deals.reconciliation is not present)")
    lines += [o.describe() for o in outcomes if not o.correct]
    pytestconfig.stash[SUMMARY] = lines
    silent = [o.describe() for o in outcomes if o.silently_wrong]
    assert not silent, "\n".join(silent)


def test_it_has_the_breadth_the_corpus_promises() -> None:
    entries = manifest()
    banks = {entry["bank"].split(" (")[0] for entry in entries.values()}
    countries = {entry["country"] for entry in entries.values()}
    pdfs = [name for name in entries if name.endswith(".pdf")]
    assert len(entries) >= 40
    assert len(banks) >= 25
    assert len(countries) >= 8
    assert len(pdfs) >= 6
    assert set(pdfs) == set(pdf_descriptions())
    for name in entries:
        assert name.endswith(".pdf") or (FILES / name).is_file(), name
    assert {c for entry in entries.values() for c in entry["classes"]} <= set(CLASSES)
    for failure_class in CLASSES:
        assert tagged(failure_class), f"no corpus file is tagged {failure_class}"


@pytest.mark.parametrize("name", tagged("value_date_column"))
def test_it_never_reads_a_value_date_as_an_amount(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("indicator_column"))
def test_it_takes_the_sign_from_a_debit_credit_indicator_column(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("misleading_amount_header"))
def test_it_is_not_misled_by_amount_like_headers(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("unknown_amount_header"))
def test_it_finds_the_amount_under_an_unknown_header_beside_record_codes(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("summary_rows"))
def test_it_keeps_opening_closing_and_turnover_rows_out_of_the_transactions(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("not_a_transaction_list"))
def test_it_refuses_files_that_are_not_transaction_lists_in_plain_words(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("card_statement"))
def test_it_reads_card_statements_with_card_signs(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("pdf_statement"))
def test_it_reads_pdf_statements(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("pdf_summary_table"))
def test_it_does_not_read_pdf_summary_tables_as_transactions(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("pdf_check_lines"))
def test_it_reads_pdf_lines_that_begin_with_a_check_number(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("pdf_daily_balance_table"))
def test_it_does_not_read_a_pdf_daily_balance_table_as_transactions(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("pdf_sectioned_withdrawals"))
def test_it_signs_pdf_withdrawals_by_their_section(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("pdf_opening_closing"))
def test_it_compares_pdf_opening_and_closing_balances(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("ofx_several_accounts"))
def test_it_reads_every_account_of_an_ofx_file(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("ofx_quirks"))
def test_it_tolerates_the_ofx_quirks_real_producers_emit(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("ofx_implausible_period"))
def test_it_takes_the_period_from_the_data_when_the_ofx_period_is_implausible(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("ofx_card"))
def test_it_reads_ofx_card_statements(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("non_english_headers"))
def test_it_understands_non_english_headers(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("utf16"))
def test_it_reads_utf16_unicode_text(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("odd_dates"))
def test_it_reads_unusual_date_formats(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("unreadable_cell"))
def test_it_skips_and_counts_one_unreadable_cell(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("counterparty_iban"))
def test_it_does_not_take_a_counterparty_iban_for_the_account(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("balances_above_table"))
def test_it_uses_balances_printed_above_the_table(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("newest_first"))
def test_it_reads_newest_first_files_in_date_order(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("headerless"))
def test_it_reads_headerless_exports(name: str) -> None:
    assert_correct(name)


@pytest.mark.parametrize("name", tagged("running_balance"))
def test_it_reads_running_balance_columns(name: str) -> None:
    assert_correct(name)
