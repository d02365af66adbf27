"""Prints the corpus check's summary line at the end of the run, also under -q."""

from __future__ import annotations

import pytest

SUMMARY = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = config.stash.get(SUMMARY, [])
    if lines:
        terminalreporter.write_sep("-", "statement corpus")
        for line in lines:
            terminalreporter.write_line(line)
