from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        # Registers the OpenAPI description of the creatable job types.
        # The queue-health gauges are read from the jobs table whenever /metrics is scraped.
        from core.metrics import refresh_at_scrape
        from jobs import schema  # noqa: F401
        from jobs.queue_health import refresh_queue_gauges

        refresh_at_scrape(refresh_queue_gauges)
