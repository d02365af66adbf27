"""What the jobs API accepts and returns."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from events.positions import EventPositionField
from jobs.models import Job, JobStatus


class JobOut(serializers.ModelSerializer[Job]):
    class Meta:
        model = Job
        fields = [
            "id",
            "type",
            "status",
            "progress",
            "message",
            "input",
            "results",
            "error",
            "billable",
            "attempts",
            "cancel_requested",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class JobReadOut(JobOut):
    """A job as `GET /jobs/{id}` returns it: with its feed's position (events/positions.py)."""

    event_position = EventPositionField()

    class Meta(JobOut.Meta):
        fields = [*JobOut.Meta.fields, "event_position"]
        read_only_fields = fields


class JobListQuery(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=JobStatus.choices, required=False)
    type = serializers.CharField(max_length=32, required=False)


class CreatableJobTypeField(serializers.CharField):
    """A job type's name. The view answers any other with a 400 naming the creatable ones; the
    schema lists them (jobs/schema.py), read from Celery's task registry when it is generated."""


class JobCreateIn(serializers.Serializer[Any]):
    type = CreatableJobTypeField(max_length=32)
    input = serializers.DictField(required=False, default=dict)


class UsageOut(serializers.Serializer[Any]):
    monthly_used = serializers.IntegerField()
    monthly_limit = serializers.IntegerField()
    monthly_remaining = serializers.IntegerField()
    subscription_tier = serializers.CharField()
