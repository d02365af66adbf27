"""Jobs API: poll, list, cancel, create (for registered job types) and monthly usage."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import get_actor
from api.idempotency import idempotent
from core.context import request_id_var
from core.errors import Invalid, NotFound
from events.catalogue import JOB
from events.positions import POSITION_HEADER_SCHEMA, read_with_position
from jobs import services
from jobs.job_task import creatable_job_types, task_for
from jobs.models import Job
from jobs.serializers import JobCreateIn, JobListQuery, JobOut, JobReadOut, UsageOut
from jobs.usage import usage_for


def get_job(request: Request, job_id: str) -> Job:
    """The caller's job, or 404 (another organisation's job does not exist for this caller)."""
    job = Job.objects.filter(organization=get_actor(request).organization, pk=job_id).first()
    if job is None:
        raise NotFound("No such job.")
    return job


class JobListView(ListAPIView[Job]):
    """`GET /jobs` (newest first, `?status=`, `?type=`); `POST /jobs` creates a job of a creatable type (jobs/job_task.py)."""

    serializer_class = JobOut

    @extend_schema(parameters=[JobListQuery])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Job]:
        query = JobListQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        jobs = Job.objects.filter(organization=get_actor(self.request).organization)
        for name in ("status", "type"):
            if name in query.validated_data:
                jobs = jobs.filter(**{name: query.validated_data[name]})
        return jobs.order_by("-created_at", "-id")

    @extend_schema(request=JobCreateIn, responses={202: JobOut})
    @idempotent
    def post(self, request: Request) -> Response:
        body = JobCreateIn(data=request.data)
        body.is_valid(raise_exception=True)
        task = task_for(body.validated_data["type"])
        if task is None or task.input_serializer is None:
            raise Invalid(
                "This job type cannot be created here.",
                fields={"type": [f"Choose one of: {', '.join(creatable_job_types()) or 'none available'}."]},
            )
        job_input = task.input_serializer(data=body.validated_data["input"])
        if not job_input.is_valid():
            raise ValidationError({"input": job_input.errors})
        job = services.create_job(
            get_actor(request).organization,
            body.validated_data["type"],
            dict(job_input.validated_data),
            request_id=request_id_var.get() or "",
        )
        return Response(JobOut(job).data, status=status.HTTP_202_ACCEPTED)


class JobDetailView(APIView):
    @extend_schema(responses=JobReadOut, parameters=[POSITION_HEADER_SCHEMA])
    def get(self, request: Request, job_id: str) -> Response:
        organization_id = get_actor(request).organization.pk
        return read_with_position(
            organization_id, JOB, job_id, lambda: get_job(request, job_id), lambda job: JobReadOut(job).data
        )


class JobCancelView(APIView):
    """Ask the job to stop at its next stage boundary; 202 with the job, 409 once it has ended."""

    @extend_schema(request=None, responses={202: JobOut})
    def post(self, request: Request, job_id: str) -> Response:
        job = get_job(request, job_id)
        job = services.request_cancel(get_actor(request).organization, job.pk)
        return Response(JobOut(job).data, status=status.HTTP_202_ACCEPTED)


class UsageView(APIView):
    @extend_schema(responses=UsageOut)
    def get(self, request: Request) -> Response:
        return Response(UsageOut(usage_for(get_actor(request).organization)).data)
