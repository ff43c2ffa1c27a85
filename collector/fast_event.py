"""Validation of a native event in one pass, for the shapes clients send every day.

`Event.model_validate` builds an Event, a properties model (validated, then dumped back to
a dict), a Context and Traits model; enrichment then dumps those again. This reads the
JSON dict once and returns what those steps return (the dumps: `exclude_none`, declared
fields first, then the extra keys in their order), for an event whose every value has
exactly the type its field wants. Anything else — a wrong or missing value, an unknown
field, a value pydantic would convert (`"5"` for an int, `true` for a number, a UUID
written without hyphens), integers beyond 64 bits — returns None, and the caller takes
pydantic's way, which accepts or refuses it with its own messages. So this path never
decides what is valid, it only skips work when the answer is certainly yes;
tests/unit/collector/test_fast_event.py compares it with pydantic's way on generated
events.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from schemas.event_types import EVENT_TYPES
from schemas.events import MAX_ID_LENGTH, PageViewProperties
from schemas.timestamps import parse_time

# (event_id, type, anonymous_id, lead_id, occurred_at, properties, traits, context)
Parts = tuple[uuid.UUID | None, str, str | None, str | None, datetime | None,
              dict[str, Any], dict[str, Any], dict[str, Any]]


class _Slow(Exception):
    """Not certainly valid as it is: leave it to pydantic."""


_TOP: Final = frozenset({"event_id", "type", "anonymous_id", "lead_id", "occurred_at",
                         "properties", "traits", "context"})
_TYPES: Final = frozenset(EVENT_TYPES)
_UUID: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_INT_MAX: Final = 2**63 - 1
_MISSING: Final = object()

Check = Callable[[Any], Any]


def _text(value: Any) -> str:
    if type(value) is not str:
        raise _Slow
    return value


def _bounded_text(high: int) -> Check:
    def check(value: Any) -> str:
        if type(value) is not str or not 1 <= len(value) <= high:
            raise _Slow
        return value
    return check


def _count(value: Any) -> int:  # int, >= 0
    if type(value) is not int or not 0 <= value <= _INT_MAX:
        raise _Slow
    return value


def _percent(value: Any) -> float:  # float, 0..100; an int becomes a float as in pydantic
    if type(value) is int and 0 <= value <= 100:
        return float(value)
    if type(value) is not float or not 0 <= value <= 100:
        raise _Slow
    return value


_url_4096 = _bounded_text(4096)


def _page_url(value: Any) -> str:
    url = _url_4096(value)
    try:
        PageViewProperties._absolute_or_path(url)
    except ValueError:
        raise _Slow from None
    return url


def _json_object(value: Any) -> dict[str, Any]:  # dict[str, Any]: a copy, as pydantic makes
    if type(value) is not dict or not all(type(key) is str for key in value):
        raise _Slow
    return dict(value)


def _open_model(fields: dict[str, Check]) -> Check:
    """A `_Open` model (extra="allow", optional fields) validated and then dumped with
    exclude_none: its fields in declaration order, then the other keys in theirs."""
    names = tuple(fields)

    def check(values: Any) -> dict[str, Any]:
        if type(values) is not dict:
            raise _Slow
        out: dict[str, Any] = {}
        for name in names:
            value = values.get(name)
            if value is not None:
                out[name] = fields[name](value)
        for key, value in values.items():
            if type(key) is not str:
                raise _Slow
            if value is not None and key not in fields:
                out[key] = value
        return out
    # What it knows of the model, which tests/unit/collector/test_fast_event.py compares
    # with schemas/events.py: a field added there and not here must not pass unchecked.
    check.fields = names  # type: ignore[attr-defined]
    check.required = ()  # type: ignore[attr-defined]
    return check


def _required(check: Check, *names: str) -> Check:
    """The same model, with fields that must be present and not None."""
    def required(values: Any) -> dict[str, Any]:
        if type(values) is not dict or any(values.get(name) is None for name in names):
            raise _Slow
        return check(values)  # type: ignore[no-any-return]
    required.fields = check.fields  # type: ignore[attr-defined]
    required.required = names  # type: ignore[attr-defined]
    return required


_id_256 = _bounded_text(256)
PROPERTIES: Final[dict[str, Check]] = {
    "page_view": _required(_open_model({"url": _page_url, "title": _text, "referrer": _text,
                                        "dwell_ms": _count, "path": _text}), "url"),
    "video_progress": _required(_open_model({"video_id": _id_256, "percent": _percent}),
                                "video_id", "percent"),
    "download": _required(_open_model({"asset_id": _id_256, "asset_type": _text}), "asset_id"),
    "email_open": _open_model({"campaign_id": _text, "message_id": _text}),
    "email_click": _open_model({"campaign_id": _text, "message_id": _text, "url": _text}),
    "form_submit": _open_model({"form_id": _text}),
    "identify": _open_model({}),
    "custom": _required(_open_model({"name": _id_256}), "name"),
}
_TRAITS: Final = _open_model({"email": _text, "name": _text, "company": _text, "title": _text})
_CAMPAIGN: Final = _open_model({"source": _text, "medium": _text, "name": _text, "term": _text,
                                "content": _text})
_CONTEXT: Final = _open_model({"page": _json_object, "user_agent": _text,
                               "campaign": _CAMPAIGN, "ip": _text})


def _id(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is not str or not 1 <= len(value) <= MAX_ID_LENGTH:
        raise _Slow
    return value


def fast_parts(raw: dict[str, Any]) -> Parts | None:
    """The validated event's parts, or None: then pydantic decides."""
    try:
        for key in raw:
            if key not in _TOP:
                return None
        kind = raw.get("type")
        if type(kind) is not str or kind not in _TYPES:
            return None
        anonymous_id, lead_id = _id(raw.get("anonymous_id")), _id(raw.get("lead_id"))
        if anonymous_id is None and lead_id is None:
            return None
        event_id = raw.get("event_id")
        if event_id is not None:
            if type(event_id) is not str or not _UUID.match(event_id):
                return None
            event_id = uuid.UUID(event_id)
        occurred = raw.get("occurred_at")
        occurred_at = None if occurred is None else parse_time(occurred)
        properties = raw.get("properties", _MISSING)
        properties = PROPERTIES[kind]({} if properties is _MISSING else properties)
        traits = raw.get("traits")
        if traits is not None:
            if kind != "identify":
                return None
            traits = _TRAITS(traits)
        context = raw.get("context")
        context = {} if context is None else _CONTEXT(context)
    except (_Slow, ValueError):
        return None
    return (event_id, kind, anonymous_id, lead_id, occurred_at, properties, traits or {},
            context)
