from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        # Registers the OpenAPI description of the creatable job types.
        from jobs import feeds, schema  # noqa: F401

        # The job feed is a kind of event feed this app owns.
        feeds.register()
