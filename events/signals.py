"""Signals of the event backbone, so other apps can react to events without `events` importing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent once per stored event, after its transaction has committed (keyword argument `event`).
# Receivers run on the publisher's thread: they must be quick and hand real work off.
event_committed = Signal()
