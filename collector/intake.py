"""From request JSON to stored events: validation and enrichment, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from schemas.events import Event, StoredEvent

# The write key may ride in the body (Segment's clients do that); it is not event data.
BODY_KEY_FIELD = "writeKey"


@dataclass(frozen=True, slots=True)
class FieldError:
    index: int | None
    field: str
    message: str

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.index is not None:
            out["index"] = self.index
        return out


def field_errors(exc: ValidationError, index: int | None = None) -> list[FieldError]:
    errors = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(part) for part in err["loc"]) or "(event)"
        errors.append(FieldError(index, field, err["msg"]))
    return errors


def parse_event(raw: Any, received_at: datetime, index: int | None = None) -> StoredEvent:
    """Validate one event; raises InvalidEvents naming every bad field."""
    if not isinstance(raw, dict):
        raise InvalidEvents([FieldError(index, "(event)", "must be a JSON object")])
    raw = {k: v for k, v in raw.items() if k != BODY_KEY_FIELD}
    try:
        event = Event.model_validate(raw)
    except ValidationError as exc:
        raise InvalidEvents(field_errors(exc, index)) from None
    return StoredEvent.from_event(event, received_at, flags=[])


def parse_batch(items: list[Any], received_at: datetime) -> list[StoredEvent]:
    """All or nothing: one invalid event refuses the batch, so nothing half-lands."""
    events, errors = [], []
    for index, raw in enumerate(items):
        try:
            events.append(parse_event(raw, received_at, index))
        except InvalidEvents as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidEvents(errors)
    return events


class InvalidEvents(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors
