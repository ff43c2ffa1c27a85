"""From request JSON to stored events: validation, translation and enrichment, no I/O.

Every item ends in exactly one of three places: accepted (to its topic), rejected (to
events-rejected, with the reason) or dropped (consent withheld: counted, never stored).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from collector import segment
from collector.encoding import event_json
from collector.enrichment import Edge, correct_clock, enrich, enrich_parts
from collector.errors import FieldError, InvalidEvents, field_errors
from collector.fast_event import fast_parts
from collector.limits import MAX_EVENT_BYTES
from schemas.events import Event, StoredEvent
from schemas.timestamps import parse_time

__all__ = ["BODY_KEY_FIELD", "FieldError", "Intake", "InvalidEvents", "Rejection",
           "ConsentWithheld", "parse_event", "parse_batch"]

# The write key may ride in the body (Segment's clients do that); it is not event data.
BODY_KEY_FIELD = "writeKey"


class ConsentWithheld(Exception):
    """`context.consent` is false: the event is dropped at the edge and only counted."""


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int | None
    reason: str
    errors: list[FieldError]
    raw: Any


@dataclass(slots=True)
class Intake:
    accepted: list[StoredEvent] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    dropped: int = 0
    # The accepted events' Kafka values, in the same order: written once, here, so an
    # event that cannot be written as JSON is refused with the others, not a 500 later.
    values: list[bytes] = field(default_factory=list)


def parse_event(
    raw: Any,
    received_at: datetime,
    index: int | None = None,
    *,
    edge: Edge | None = None,
    track_mapping: Mapping[str, str] | None = None,
    small: bool = False,
) -> StoredEvent:
    """Validate, translate (Segment) and enrich one event.

    Raises InvalidEvents naming every bad field, or ConsentWithheld. `small` says the
    whole request was under the per-event limit, so this event cannot be over it."""
    edge = edge or Edge(received_at=received_at)
    if not isinstance(raw, dict):
        raise InvalidEvents([FieldError(index, "(event)", "must be a JSON object")])
    if not small and _size(raw) > MAX_EVENT_BYTES:
        raise InvalidEvents(
            [FieldError(index, "(event)", f"event exceeds {MAX_EVENT_BYTES} bytes")], "too_large")
    if _consent_withheld(raw):
        raise ConsentWithheld
    sent_at: Any = None
    if segment.is_segment(raw):
        translated = segment.translate(raw, track_mapping or {}, index)
        raw, sent_at = translated.event, translated.sent_at
    elif BODY_KEY_FIELD in raw:
        raw = {k: v for k, v in raw.items() if k != BODY_KEY_FIELD}
    parts = fast_parts(raw)
    try:
        event = Event.model_validate(raw) if parts is None else None
        client_sent = parse_time(sent_at) if sent_at is not None else None
    except ValidationError as exc:
        raise InvalidEvents(field_errors(exc, index)) from None
    except ValueError as exc:
        raise InvalidEvents([FieldError(index, "sentAt", str(exc))]) from None
    if parts is None:
        assert event is not None  # noqa: S101 - for the type checker
        occurred, flags = correct_clock(event.occurred_at, edge, client_sent)
        return enrich(event, edge, flags, occurred)
    occurred, flags = correct_clock(parts[4], edge, client_sent)
    return enrich_parts(*parts[:4], occurred, *parts[5:], edge, flags)


def parse_batch(
    items: list[Any], received_at: datetime, *, edge: Edge | None = None,
    track_mapping: Mapping[str, str] | None = None, indexed: bool = True,
) -> Intake:
    """Partial acceptance: the valid events go on, each invalid one is reported by index
    (`indexed=False` for a single-event request, which has no index)."""
    intake = Intake()
    # A request under the per-event limit cannot hold an event over it: skip measuring.
    small = edge is not None and edge.body_bytes is not None and edge.body_bytes <= MAX_EVENT_BYTES
    for position, raw in enumerate(items):
        index = position if indexed else None
        try:
            event = parse_event(
                raw, received_at, index, edge=edge, track_mapping=track_mapping, small=small)
            value = _value(event, index)
        except ConsentWithheld:
            intake.dropped += 1
        except InvalidEvents as exc:
            intake.rejected.append(Rejection(index, exc.reason, exc.errors, raw))
        else:
            intake.accepted.append(event)
            intake.values.append(value)
    return intake


def _value(event: StoredEvent, index: int | None) -> bytes:
    try:
        return event_json(event)
    except ValueError as exc:  # e.g. nested deeper than JSON writers go (255 levels)
        why = str(exc).removeprefix("Error serializing to JSON: ")
        raise InvalidEvents([FieldError(index, "(event)", f"cannot be stored as JSON: {why}")
                             ]) from None


def _size(raw: dict[str, Any]) -> int:
    return len(json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode())


def _consent_withheld(raw: dict[str, Any]) -> bool:
    context = raw.get("context")
    return isinstance(context, dict) and context.get("consent") is False
