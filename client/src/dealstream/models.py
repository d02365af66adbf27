"""The shapes the API returns, as TypedDicts: plain JSON dicts, typed for editors and mypy.

They are deliberately thin: the client hands back exactly what the server sent, so a
field the server adds later is there too (just not in the type yet).
"""

from __future__ import annotations

from typing import Any, Generic, Literal, Required, TypedDict, TypeVar

__all__ = [
    "Batch",
    "BatchCreated",
    "BatchDocument",
    "Change",
    "Circularity",
    "Deal",
    "DealDecision",
    "Job",
    "JobStatus",
    "Material",
    "Page",
    "PriceRange",
    "Product",
    "PurgeResult",
    "Statement",
    "StatementUpload",
    "Usage",
    "Valuation",
]

T = TypeVar("T")

JobStatus = Literal["queued", "started", "completed", "failed", "canceled"]


class Page(TypedDict, Generic[T]):
    """One page of a list: `next` is the URL of the following page, or None."""

    results: list[T]
    next: str | None


class Statement(TypedDict, total=False):
    """An uploaded statement; `status` moves from `queued` to `completed` or `failed` (see `error`)."""

    id: Required[int]
    status: Required[str]
    filename: str
    size: int
    stage: str
    format: str
    transaction_count: int
    summary: dict[str, Any]
    metrics: dict[str, Any]
    screening: dict[str, Any]
    error: str
    job_id: str | None
    batch_id: str | None
    created_at: str
    completed_at: str | None


class Change(TypedDict, total=False):
    """A proposed change (`operation: "set_decision"`), open or resolved by approve/reject."""

    change_id: Required[str]
    status: Required[str]
    deal_id: int
    deal_status: str
    operation: str
    proposed: dict[str, Any]
    explanation: str
    health_score: float | None
    resolved_by: str | None
    resolved_at: str | None
    created_at: str


class DealDecision(TypedDict, total=False):
    decision: str
    note: str
    decided_by: str
    decided_at: str | None


class Deal(TypedDict, total=False):
    """A deal: `status` is `new`, `processing`, `under_review`, `approved` or `declined`.

    `health_score` (0-100, one decimal) comes with `flags`, `explanations` and `score`
    details; `proposal` is the open proposed change, if any.
    """

    id: Required[int]
    status: Required[str]
    business_name: str
    amount_requested: str | None
    external_ref: str
    health_score: float | None
    recommendation: str | None
    decision: DealDecision | None
    created_by: str
    created_at: str
    updated_at: str
    flags: list[Any]
    explanations: list[Any]
    score: Any
    statements: list[Statement]
    proposal: Change | None
    # On a read (`deals.get`): the newest event id of the deal's feed, read with the deal.
    event_position: int


class StatementUpload(TypedDict):
    """The 202 answer to a statement upload; follow `job_id` to see it processed."""

    statement_id: int
    job_id: str
    status: str


class BatchCreated(TypedDict):
    batch_id: str
    total: int


class BatchDocument(TypedDict, total=False):
    document_id: int
    filename: str
    status: str
    stage: str
    error: str
    job_id: str | None


class Batch(TypedDict, total=False):
    """A batch; `progress` reads like "3/5"."""

    batch_id: Required[str]
    status: Required[str]
    deal_id: int
    total: int
    succeeded: int
    failed: int
    progress: str
    documents: list[BatchDocument]
    created_by: str
    created_at: str
    completed_at: str | None


class Job(TypedDict, total=False):
    """An asynchronous unit of work; `progress` runs from 0 to 1."""

    id: Required[str]
    status: Required[JobStatus]
    type: str
    progress: float
    message: str
    input: dict[str, Any]
    results: Any
    error: str
    billable: bool
    attempts: int
    cancel_requested: bool
    created_at: str
    started_at: str | None
    finished_at: str | None


class Usage(TypedDict):
    monthly_used: int
    monthly_limit: int
    monthly_remaining: int
    subscription_tier: str


class Material(TypedDict):
    name: str
    percentage: float


class Product(TypedDict, total=False):
    """`overrideProduct` of a valuation: the product described instead of read from its page."""

    brand: str
    name: str
    category: str
    price: float
    currency: str
    materials: list[Material]


class Circularity(TypedDict, total=False):
    circularImpactScore: int
    materialLoopScore: int
    durabilityScore: int
    reparabilityScore: int
    recyclabilityScore: int
    takebackAvailable: bool
    tokens: list[str]


class PriceRange(TypedDict):
    min: int
    max: int
    currency: str


class Valuation(TypedDict, total=False):
    """A product value decision; scores are integers from 0 to 100."""

    productId: str
    priceFairnessScore: int
    resalePotentialScore: int
    circularity: Circularity
    explanations: list[str]
    fairPriceRange: PriceRange
    generatedAt: str
    version: str


class PurgeResult(TypedDict):
    deleted: int


class Webhook(TypedDict, total=False):
    """A webhook endpoint; `secret` is only in the answers of `create` and `rotate_secret`."""

    id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    disabled_reason: str
    previous_secret_expires_at: str | None
    created_at: str
    updated_at: str
    secret: str


class WebhookDelivery(TypedDict, total=False):
    """One delivery attempt: `status` is `delivered`, `retrying` (see `next_attempt_at`) or `failed`."""

    id: int
    event_id: int | None
    type: str
    attempt: int
    status: str
    response_code: int | None
    duration_ms: int
    error: str
    next_attempt_at: str | None
    created_at: str
