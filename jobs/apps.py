from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        from core.metrics import refresh_at_scrape
        from jobs import feeds, schema  # noqa: F401 - schema registers the creatable job types' OpenAPI
        from jobs.queue_health import refresh_queue_gauges

        # The queue-health gauges are read from the jobs table whenever /metrics is scraped.
        refresh_at_scrape(refresh_queue_gauges)
        # The job feed is a kind of event feed this app owns.
        feeds.register()
