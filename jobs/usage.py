"""Usage metering: an organisation's billable jobs this calendar month against its limit."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Organization
from jobs.models import Job


@dataclass(frozen=True)
class Usage:
    monthly_used: int
    monthly_limit: int
    monthly_remaining: int
    subscription_tier: str


def usage_for(organization: Organization) -> Usage:
    """The organisation's billable jobs this calendar month against its limit."""
    used = Job.objects.billable_this_month(organization.pk).count()
    limit = organization.job_limit
    return Usage(used, limit, max(0, limit - used), organization.subscription_tier)
