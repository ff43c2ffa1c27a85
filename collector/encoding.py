"""Stored events as Kafka values: the JSON pydantic's `model_dump_json` writes, faster."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from schemas.events import StoredEvent
from schemas.timestamps import format_time


def event_json(event: StoredEvent) -> bytes:
    """`event.model_dump_json().encode()`, the same bytes, in about half the time.

    StoredEvent's fields are JSON values already (its dicts hold what a request's JSON
    held, or what the edge added) except the id and the two times, which are written
    as pydantic writes them. orjson writes strings, numbers (NaN and infinities as null),
    key order and escapes as pydantic does (tests/unit/collector/test_event_json.py
    compares both); on what it refuses (an integer beyond 64 bits) pydantic writes it."""
    values = event.__dict__
    try:
        return orjson.dumps({**values, "event_id": str(values["event_id"]),
                             "occurred_at": _time_text(values["occurred_at"]),
                             "received_at": _time_text(values["received_at"])})
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return event.model_dump_json().encode()


_last_time: tuple[datetime | None, str] = (None, "")
_last_second: tuple[int | None, str] = (None, "")  # a second since the epoch, its text
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _time_text(moment: datetime) -> str:
    """format_time, remembered for the last time seen: every event of a request shares its
    received time, and an event without a time of its own occurred then too. A UTC time
    (every received time, every parsed one) keeps its second's text and adds only the
    milliseconds: isoformat with a timespec was most of a request's formatting."""
    global _last_time, _last_second
    last = _last_time
    if last[0] is moment:
        return last[1]
    if moment.tzinfo is UTC:
        since = moment - _EPOCH  # exact, where a float timestamp rounds .999999 up
        second = since.days * 86_400 + since.seconds
        prefix = _last_second
        if prefix[0] != second:
            prefix = _last_second = (second, format_time(moment)[:19])
        text = f"{prefix[1]}.{moment.microsecond // 1000:03d}Z"
    else:
        text = format_time(moment)
    _last_time = (moment, text)
    return text
