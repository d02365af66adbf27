"""Template helpers of the dashboard: badges, labels and event sentences (see dashboard.presentation)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

from dashboard import presentation
from events.models import Event

register = template.Library()


@register.inclusion_tag("dashboard/_status_badge.html")
def status_badge(status: str) -> dict[str, Any]:
    """A deal status as a badge: colour plus its written label."""
    return {"status": status, "label": presentation.DEAL_STATUS_LABELS.get(status, status)}


@register.inclusion_tag("dashboard/_score_badge.html")
def score_badge(score: Decimal | float | str | None, large: bool = False) -> dict[str, Any]:
    """A health score with its band written out ("72.5 Fair"), never colour alone."""
    # "" is a missing variable: the empty row the live scripts clone.
    value = None if isinstance(score, str) else score
    band, label = presentation.score_band(value)
    return {"score": value, "band": band, "label": label, "large": large}


@register.filter
def event_sentence(event: Event) -> str:
    return presentation.describe_event(event.type, event.data)


@register.filter
def event_title(event_type: str) -> str:
    return presentation.EVENT_TITLES.get(event_type, event_type)


@register.filter
def stage_label(stage: str) -> str:
    return presentation.STAGE_LABELS.get(stage, stage)


@register.filter
def decision_label(decision: str) -> str:
    return presentation.DECISION_LABELS.get(decision, decision)


@register.simple_tag
def vocabulary_json() -> SafeString:
    """The words and bands the live scripts use, as a JSON data block (no inline code)."""
    return json_script(presentation.vocabulary(), "ds-vocabulary")


@register.filter
def get_item(mapping: dict[Any, Any] | None, key: Any) -> Any:
    """`mapping|get_item:key`: a dictionary lookup with a variable key."""
    if not mapping:
        return None
    return mapping.get(key)
