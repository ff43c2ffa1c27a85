"""The event contract: what clients send, and what the collector writes to Kafka.

`Event` is the native JSON a client sends (POST /v1/events). Unknown top-level
fields are refused, so a client can never set a score or a stage. `StoredEvent`
is what lands on the `events-*` topics: the same event, normalised (event_id and
occurred_at always present) plus what the collector adds (received_at, flags).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from schemas.event_types import EventType
from schemas.timestamps import format_time, parse_time

# Ids come from cookies, CRMs and email tools; 128 characters fits all of them
# and keeps a forged id from bloating keys and state.
MAX_ID_LENGTH: Final = 128

Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]


class _Open(BaseModel):
    """Properties keep keys we don't know: sites add their own."""

    model_config = ConfigDict(extra="allow")


class PageViewProperties(_Open):
    url: Annotated[str, Field(min_length=1, max_length=4096)]
    title: str | None = None
    referrer: str | None = None
    dwell_ms: Annotated[int, Field(ge=0)] | None = None
    path: str | None = None

    @field_validator("url")
    @classmethod
    def _absolute_or_path(cls, v: str) -> str:
        parts = urlsplit(v)
        if not (parts.scheme in ("http", "https") and parts.netloc) and not v.startswith("/"):
            raise ValueError("must be an absolute http(s) URL or a path starting with /")
        return v


class VideoProgressProperties(_Open):
    video_id: Annotated[str, Field(min_length=1, max_length=256)]
    percent: Annotated[float, Field(ge=0, le=100)]


class DownloadProperties(_Open):
    asset_id: Annotated[str, Field(min_length=1, max_length=256)]
    asset_type: str | None = None


class EmailOpenProperties(_Open):
    campaign_id: str | None = None
    message_id: str | None = None


class EmailClickProperties(_Open):
    campaign_id: str | None = None
    message_id: str | None = None
    url: str | None = None


class FormSubmitProperties(_Open):
    form_id: str | None = None


class IdentifyProperties(_Open):
    pass


class CustomProperties(_Open):
    name: Annotated[str, Field(min_length=1, max_length=256)]


PROPERTIES_MODELS: Final[dict[str, type[_Open]]] = {
    "page_view": PageViewProperties,
    "video_progress": VideoProgressProperties,
    "download": DownloadProperties,
    "email_open": EmailOpenProperties,
    "email_click": EmailClickProperties,
    "form_submit": FormSubmitProperties,
    "identify": IdentifyProperties,
    "custom": CustomProperties,
}


class Traits(_Open):
    email: str | None = None
    name: str | None = None
    company: str | None = None
    title: str | None = None


class Campaign(_Open):
    source: str | None = None
    medium: str | None = None
    name: str | None = None
    term: str | None = None
    content: str | None = None


class Context(_Open):
    page: dict[str, Any] | None = None
    user_agent: str | None = None
    campaign: Campaign | None = None
    ip: str | None = None


def _parse_occurred_at(value: Any) -> datetime | None:
    return None if value is None else parse_time(value)


class Event(BaseModel):
    """One behaviour of one visitor or lead, as a client sends it."""

    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID | None = None
    type: EventType
    anonymous_id: Id | None = None
    lead_id: Id | None = None
    occurred_at: datetime | None = Field(
        default=None, description="ISO-8601 with a zone, or epoch milliseconds"
    )
    properties: dict[str, Any] = Field(default_factory=dict, validate_default=True)
    traits: Traits | None = None
    context: Context | None = None

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _time(cls, v: Any, info: ValidationInfo) -> datetime | None:
        return _parse_occurred_at(v)

    @field_validator("properties")
    @classmethod
    def _properties(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        kind = info.data.get("type")
        if kind is None:  # the type itself was invalid; that error is reported
            return v
        return validate_properties(kind, v)

    @model_validator(mode="after")
    def _check(self) -> Event:
        if self.anonymous_id is None and self.lead_id is None:
            raise ValueError("one of anonymous_id or lead_id is required")
        if self.traits is not None and self.type != "identify":
            raise ValueError("traits are only accepted on identify events")
        return self


def validate_properties(kind: str, properties: dict[str, Any]) -> dict[str, Any]:
    """Check properties against the type's model; the error names each bad property."""
    try:
        model = PROPERTIES_MODELS[kind].model_validate(properties)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ValueError(f"invalid {kind} properties: {problems}") from None
    return model.model_dump(exclude_none=True)


class StoredEvent(BaseModel):
    """An accepted event as written to Kafka and ClickHouse: every field present."""

    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID
    type: EventType
    anonymous_id: str | None = None
    lead_id: str | None = None
    occurred_at: datetime
    received_at: datetime
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    # Quality marks set at the edge (bot, clock_clamped, machine_open...); stored, not hidden.
    flags: list[str] = Field(default_factory=list)

    @field_serializer("occurred_at", "received_at")
    def _iso(self, v: datetime) -> str:
        return format_time(v)

    @property
    def key(self) -> str:
        """Kafka key: the lead if known, else the anonymous id (identity is partitioned by it)."""
        return self.anonymous_id or self.lead_id or ""

    @classmethod
    def from_event(cls, event: Event, received_at: datetime, flags: list[str]) -> StoredEvent:
        return cls(
            event_id=event.event_id or uuid.uuid4(),
            type=event.type,
            anonymous_id=event.anonymous_id,
            lead_id=event.lead_id,
            occurred_at=event.occurred_at or received_at,
            received_at=received_at,
            properties=event.properties,
            traits=event.traits.model_dump(exclude_none=True) if event.traits else {},
            context=event.context.model_dump(exclude_none=True) if event.context else {},
            flags=flags,
        )


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch: list[dict[str, Any]]
    writeKey: str | None = None  # noqa: N815 - Segment's spelling


MessageKind = Literal["event", "rejected"]
