"""The typed environment helpers fail loudly on bad values."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings import envbool, envfloat, envint, envlist


def test_envint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_INT", "42")
    assert envint("X_INT", 1) == 42
    monkeypatch.setenv("X_INT", "forty")
    with pytest.raises(ImproperlyConfigured, match="X_INT must be an integer"):
        envint("X_INT", 1)
    monkeypatch.setenv("X_INT", "-1")
    with pytest.raises(ImproperlyConfigured, match="at least 0"):
        envint("X_INT", 1)
    monkeypatch.delenv("X_INT")
    assert envint("X_INT", 7) == 7


def test_envbool(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw, expected in (("1", True), ("true", True), ("ON", True), ("0", False), ("no", False)):
        monkeypatch.setenv("X_BOOL", raw)
        assert envbool("X_BOOL", not expected) is expected
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL must be a boolean"):
        envbool("X_BOOL", False)


def test_envfloat_and_envlist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_FLOAT", "0.5")
    assert envfloat("X_FLOAT", 1.0) == 0.5
    monkeypatch.setenv("X_FLOAT", "fast")
    with pytest.raises(ImproperlyConfigured):
        envfloat("X_FLOAT", 1.0)
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert envlist("X_LIST", []) == ["a", "b", "c"]
