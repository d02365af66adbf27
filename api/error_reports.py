"""Django's error reports (the DEBUG page, error e-mails) without API keys in them."""

from __future__ import annotations

from typing import Any

from django.views.debug import ExceptionReporter

from api.logging import REDACTED, is_secret_param, redact, scrub


class RedactingExceptionReporter(ExceptionReporter):
    """Django hides settings and headers named like secrets; a key can also sit in the query
    string, the URL, a local variable or the exception's message, which it shows as they are."""

    def get_traceback_data(self) -> dict[str, Any]:
        data: dict[str, Any] = super().get_traceback_data()
        for frame in data["frames"]:
            if "vars" in frame:
                frame["vars"] = [(name, redact(value)) for name, value in frame["vars"]]
        if "request_GET_items" in data:
            data["request_GET_items"] = [
                (name, REDACTED if is_secret_param(name) else redact(value))
                for name, value in data["request_GET_items"]
            ]
            data["request_insecure_uri"] = redact(data["request_insecure_uri"])
        data["request_meta"] = scrub(data["request_meta"])
        data["filtered_POST_items"] = [
            (name, REDACTED if is_secret_param(name) else scrub(value))
            for name, value in data["filtered_POST_items"]
        ]
        if "exception_value" in data:
            data["exception_value"] = redact(str(data["exception_value"]))
        return data
