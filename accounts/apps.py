from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organisations and API keys"

    def ready(self) -> None:
        # Registers the OpenAPI description of API-key authentication.
        from accounts import schema  # noqa: F401
