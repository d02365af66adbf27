"""The valuation workflow: check the request, get the product (client's or page's), score, store.

Views, streams and the job task all go through these functions, so a valuation answered
over REST, over either stream or as a job is validated, scored and stored the same way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from core.errors import DomainError, Invalid, Unprocessable
from outbound.http import PRIVATE_ADDRESS
from valuations.models import Valuation, ValuationSource
from valuations.page_fetch import ProductReadError
from valuations.product_page import NO_PRICE, NO_PRODUCT, fetch_product
from valuations.scoring import SCORER_VERSION as ENGINE_VERSION
from valuations.scoring.engine import STAGE_PROGRESS, Product, score_stages
from valuations.serializers import ValuationRequest, ValueDecisionRequestSerializer

logger = logging.getLogger(__name__)

#: The whole page fetch (redirects included) must finish within this many seconds.
PAGE_FETCH_TIMEOUT_SECONDS: Final = 5.0
#: Bigger pages are refused rather than read into memory.
PAGE_MAX_BYTES: Final = 2_000_000
#: How long a product read from a page is reused for the same URL by the same organisation.
PRODUCT_CACHE_SECONDS: Final = 3600
#: Rows deleted per statement by the retention task, so no delete holds locks for long.
PRUNE_BATCH: Final = 5000

#: Progress (0–100) after each step: the page being fetched (a job's start), the product known,
#: then the engine's own stages.
STAGE_PERCENT: Final[dict[str, int]] = {"fetching": 5, "product": 20, **STAGE_PROGRESS}


@dataclasses.dataclass(frozen=True)
class ResolvedProduct:
    product: Product
    source: str
    cached: bool = False


class ValuationFailed(DomainError):
    """The product could not be valued; the code and message are meant for the client."""


class ValuationRefused(ValuationFailed, Invalid):
    """The request is at fault: a page without a product, a private address."""


class PageUnavailable(ValuationFailed, Unprocessable):
    """The page could not be fetched as asked; the client may retry later."""


def parse_request(data: object) -> ValuationRequest:
    """Check a request body (guardrails included); raises DRF's ValidationError with per-field messages."""
    serializer = ValueDecisionRequestSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.valuation_request


# --- the product --------------------------------------------------------------------------


def product_cache_key(product_url: str, organization_id: int) -> str:
    """One entry per organisation and normalised product URL (tracking parameters, case and
    `www.` do not split it).

    Per organisation because a hit shows (the stream says so, and it is faster): a
    cache shared by all tenants would tell one which pages another valued recently.
    The engine's version is part of the key: a release that reads pages differently
    must not serve products read by the previous one.
    """
    digest = hashlib.sha256(product_url.encode("utf-8")).hexdigest()[:32]
    return f"valuations:product:{ENGINE_VERSION}:{organization_id}:{digest}"


def _read_failure(exc: ProductReadError) -> ValuationFailed:
    """Map a page-reading failure to what the client should be told.

    400 when the request itself is at fault (a page without a product, a private
    address); 422 when the URL is fine but the page could not be fetched as asked
    (timeout, unreachable, error status, too large, not HTML), a condition the
    client may retry later.
    """
    fields = {"url": [f"{exc.message}."]}
    if exc.message in (NO_PRODUCT, NO_PRICE):
        message = f"{exc.message}; send its details in overrideProduct instead."
        return ValuationRefused(message, "product_not_found", fields=fields)
    if exc.message == PRIVATE_ADDRESS:
        message = f"{exc.message}; only public web pages are read."
        return ValuationRefused(message, "url_not_allowed", fields=fields)
    return PageUnavailable(f"{exc.message}.", "page_unavailable", fields=fields)


def resolve_product(request: ValuationRequest, organization_id: int) -> ResolvedProduct:
    """The client's product when it sent one, else the page's (network; may be slow), `cached`
    if it came from the organisation's cache.

    Raises ValuationFailed. The cache only speeds things up: if it is down, the
    page is fetched as if nothing were cached.
    """
    if request.override is not None:
        return ResolvedProduct(request.override, ValuationSource.OVERRIDE)
    key = product_cache_key(request.product_url, organization_id)
    try:
        cached = cache.get(key)
    except Exception:
        logger.warning("Product cache unavailable; fetching %s", request.url, exc_info=True)
        cached = None
    if isinstance(cached, Product):  # stored below, under this very `product_url`
        return ResolvedProduct(cached, ValuationSource.PAGE, cached=True)
    try:
        product = fetch_product(
            request.url,
            allow_private=settings.VALUATION_ALLOW_PRIVATE_URLS,
            timeout=PAGE_FETCH_TIMEOUT_SECONDS,
            max_bytes=PAGE_MAX_BYTES,
        )
    except ProductReadError as exc:
        raise _read_failure(exc) from None
    # The product's identity is the normalised URL this client asked about.
    product = dataclasses.replace(product, url=request.product_url)
    try:
        cache.set(key, product, PRODUCT_CACHE_SECONDS)
    except Exception:
        logger.warning("Could not cache the product of %s", request.url, exc_info=True)
    return ResolvedProduct(product, ValuationSource.PAGE)


# --- scoring and storing ------------------------------------------------------------------


def score(product: Product) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    """The engine's partial stages (`price`, `resale`, `circularity`) and the response body.

    Its `version` is the `X-Scorer-Version` header's value.
    """
    *partials, (_, response) = score_stages(
        product, generated_at=timezone.now(), version=str(settings.SCORER_VERSION)
    )
    return partials, response


def describe_stage(stage: str, data: Mapping[str, Any], resolved: ResolvedProduct | None = None) -> str:
    """A short line for logs, job messages and stream `log` events."""
    if stage == "product":
        if resolved is None or resolved.source == ValuationSource.OVERRIDE:
            return "Using the product details sent in overrideProduct"
        return "Read the product from the cache" if resolved.cached else "Read the product from the page"
    if stage == "price":
        return f"Price fairness scored {data['priceFairnessScore']}/100"
    if stage == "resale":
        return f"Resale potential scored {data['resalePotentialScore']}/100"
    if stage == "circularity":
        return f"Circularity scored {data['circularity']['circularImpactScore']}/100"
    if stage == "complete":
        return "Valuation complete"
    return stage


def record_valuation(
    organization_id: int,
    request: ValuationRequest,
    resolved: ResolvedProduct,
    response: dict[str, Any],
    *,
    request_id: str,
) -> Valuation:
    """Store an answered valuation with its request."""
    return Valuation.objects.create(
        organization_id=organization_id,
        client_id=request.client.get("id", ""),
        client_surface=request.client.get("surface", ""),
        client_version=request.client.get("version", ""),
        url=request.url,
        product_id=response["productId"],
        source=resolved.source,
        request=request.raw,
        result=response,
        version=response["version"],
        request_id=request_id,
    )


def value_product(organization_id: int, request: ValuationRequest, *, request_id: str = "") -> Valuation:
    """Get the product, score it and store the valuation; `result` is the response body.

    Raises ValuationFailed.
    """
    resolved = resolve_product(request, organization_id)
    _, response = score(resolved.product)
    return record_valuation(organization_id, request, resolved, response, request_id=request_id)


# --- reading and removing -----------------------------------------------------------------


def purge_client(organization_id: int, client_id: str) -> int:
    """Delete every stored valuation of one client of one organisation; returns how many."""
    deleted, _ = Valuation.objects.filter(organization_id=organization_id, client_id=client_id).delete()
    return deleted


def prune_valuations() -> int:
    """Delete valuations older than the retention period (VALUATION_RETENTION_DAYS); returns how many."""
    cutoff = timezone.now() - timedelta(days=int(settings.VALUATION_RETENTION_DAYS))
    total = 0
    while True:
        # Batches keep each delete short on a big table; ids first because
        # DELETE ... LIMIT is not portable.
        with transaction.atomic():
            ids = list(
                Valuation.objects.filter(created_at__lt=cutoff)
                .order_by()
                .values_list("pk", flat=True)[:PRUNE_BATCH]
            )
            if not ids:
                return total
            deleted, _ = Valuation.objects.filter(pk__in=ids).delete()
        total += deleted
