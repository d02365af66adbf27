"""Teaches drf-spectacular which job types `POST /api/v1/jobs` accepts, so the schema lists them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension

from jobs.job_task import creatable_job_types


class CreatableJobTypeFieldScheme(OpenApiSerializerFieldExtension):
    target_class = "jobs.serializers.CreatableJobTypeField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        # Celery's task registry is the truth: the job tasks with an input serializer.
        return {"type": "string", "enum": creatable_job_types()}
