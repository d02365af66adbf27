"""Every row lock in the product is `FOR NO KEY UPDATE` (docs/architecture.md, "Visibility order").

A plain `FOR UPDATE` blocks the foreign-key checks of inserts in other transactions, and
an event insert holding the organisation's sequence lock must never wait on one.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("accounts", "api", "config", "core", "dashboard", "deals", "events", "jobs", "valuations")


def plain_row_locks(source: str) -> list[int]:
    """Line numbers of `select_for_update(...)` calls without `no_key=True`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr != "select_for_update":
            continue
        no_key = next((kw.value for kw in node.keywords if kw.arg == "no_key"), None)
        if not (isinstance(no_key, ast.Constant) and no_key.value is True):
            lines.append(node.lineno)
    return lines


def test_the_checker_sees_plain_and_no_key_locks() -> None:
    source = (
        "a.select_for_update()\nb.select_for_update(no_key=True)\nc.select_for_update(skip_locked=True)\n"
    )
    assert plain_row_locks(source) == [1, 3]


def test_no_plain_select_for_update_in_the_product() -> None:
    files = [path for package in PRODUCT_PACKAGES for path in (ROOT / package).rglob("*.py")]
    assert len(files) > 50
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in files
        for line in plain_row_locks(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
