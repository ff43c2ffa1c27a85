"""The collector's faster JSON reading and writing gives exactly what the slower way gave:
json.loads for request bodies, pydantic's model_dump_json for stored events."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.dispatch import event_json
from collector.enrichment import Edge, stored_event
from collector.intake import parse_event
from collector.request_body import BodyError, parse_json
from schemas.events import StoredEvent

# Everything JSON can carry, including what orjson treats differently from the stdlib
# (long integers, non-finite floats, lone surrogates, control characters).
scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text())
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to itself and -0.0 told apart from 0.0, and int from float."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) ==
                                                     math.copysign(1, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=400, deadline=None)
@given(json_values, st.booleans())
def test_bodies_read_as_json_loads_reads_them(value: Any, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    try:
        expected = json.loads(body)
    except ValueError:
        with pytest.raises(BodyError):
            parse_json(body)
        return
    assert same(parse_json(body), expected)


@pytest.mark.parametrize("body", [
    b"-0", b"-0.0", b"1e400", b"[18446744073709551616]", b"-9223372036854775809",
    b'{"a": 1, "a": 2}', b"NaN", b"[Infinity, -Infinity]",
    "\ufeff{}".encode(), "{}".encode("utf-16"), b"0.1", b"5e-324", b"1.7976931348623157e308",
    b'{"n": 12345678901234567890123}', b"123456789012345678",
])
def test_edge_cases_read_as_json_loads_reads_them(body: bytes) -> None:
    assert same(parse_json(body), json.loads(body))


@pytest.mark.parametrize("body", [b"{not json", b'"a\tb"', b"\xff\xfe\xfd", b"", b"[1,]"])
def test_bad_json_is_still_refused(body: bytes) -> None:
    with pytest.raises(BodyError) as refused:
        parse_json(body)
    assert refused.value.status == 400


NOW = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)


def stored(**values: Any) -> StoredEvent:
    event = parse_event({"type": "page_view", "anonymous_id": "a",
                         "properties": {"url": "https://acme.test/?utm_source=x"}},
                        NOW, edge=Edge(NOW, "10.1.2.3", "Mozilla/5.0"))
    return stored_event({**event.__dict__, **values})


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(), json_values, max_size=5),
       st.dictionaries(st.text(), json_values, max_size=3),
       st.lists(st.text(), max_size=3), st.none() | st.text(max_size=10),
       st.integers(min_value=-10**12, max_value=10**12))
def test_stored_events_are_written_as_pydantic_writes_them(
    properties: dict[str, Any], context: dict[str, Any], flags: list[str],
    lead_id: str | None, offset_ms: int,
) -> None:
    event = stored(properties=properties, context=context, flags=flags, lead_id=lead_id,
                   occurred_at=NOW + timedelta(milliseconds=offset_ms))
    assert event_json(event) == event.model_dump_json().encode()


def test_times_in_other_zones_and_shared_times_are_written_as_pydantic_writes_them() -> None:
    from zoneinfo import ZoneInfo

    local = NOW.astimezone(ZoneInfo("America/New_York"))
    for event in (stored(occurred_at=local), stored(occurred_at=NOW, received_at=NOW),
                  stored(occurred_at=NOW + timedelta(microseconds=999))):
        assert event_json(event) == event.model_dump_json().encode()


def test_what_pydantic_cannot_write_fails_the_same_way() -> None:
    event = stored(properties={"x": "\ud800"})  # a lone surrogate, as json.loads reads "\\ud800"
    with pytest.raises(ValueError) as slow:
        event.model_dump_json()
    with pytest.raises(ValueError) as fast:
        event_json(event)
    assert type(fast.value) is type(slow.value) and str(fast.value) == str(slow.value)


@pytest.mark.parametrize("body", [
    b'{"a": "\\ud800"}',  # a lone surrogate: json.loads reads it, no UTF-8 writer can write it
    b"[" * 5000 + b"]" * 5000,  # deeper than json.loads goes
    b'{"n": ' + b"1" * 5000 + b"}",  # more digits than Python converts
])
def test_what_json_loads_reads_but_cannot_be_kept_is_a_400_not_a_500(body: bytes) -> None:
    with pytest.raises(BodyError) as refused:
        parse_json(body)
    assert refused.value.status == 400


def test_surrogate_pairs_are_characters() -> None:
    assert parse_json(b'"\\ud83d\\ude00"') == "\U0001f600"


@settings(max_examples=500, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31),
                    timezones=st.just(UTC)),
       st.sampled_from([0, 1, 999, 999_999, None]))
def test_times_written_from_a_kept_second_are_format_times(moment: datetime,
                                                           micro: int | None) -> None:
    """A UTC time is written from the text of its second kept from the time before (the
    received time of one request after another): the same text as format_time, also for
    a time in the same second as the one before, or just before or after it."""
    from collector.encoding import _time_text
    from schemas.timestamps import format_time

    if micro is not None:
        moment = moment.replace(microsecond=micro)
    for near in (moment, moment - timedelta(microseconds=1), moment + timedelta(seconds=1),
                 moment.replace(microsecond=(moment.microsecond + 500_000) % 1_000_000)):
        if datetime(1, 1, 2, tzinfo=UTC) < near < datetime(9999, 12, 30, tzinfo=UTC):
            assert _time_text(near) == format_time(near)
