import base64
from datetime import UTC, datetime

import pytest

from collector.auth import is_valid, key_from_headers
from collector.intake import InvalidEvents, parse_batch, parse_event

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_write_key_from_header_or_basic_username() -> None:
    assert key_from_headers({"x-write-key": "k"}) == "k"
    basic = base64.b64encode(b"k2:").decode()
    assert key_from_headers({"authorization": f"Basic {basic}"}) == "k2"
    assert key_from_headers({"authorization": "Basic !!!"}) is None
    assert key_from_headers({}) is None


def test_only_configured_keys_are_valid() -> None:
    assert is_valid("a", ["a", "b"])
    assert not is_valid("c", ["a", "b"])
    assert not is_valid(None, ["a"])
    assert not is_valid("", ["a"])


def test_body_write_key_is_not_event_data() -> None:
    event = parse_event({"type": "page_view", "lead_id": "l", "writeKey": "k",
                         "properties": {"url": "/x"}}, NOW)
    assert event.lead_id == "l"


def test_a_batch_accepts_the_valid_and_names_each_bad_event_by_index() -> None:
    good = {"type": "page_view", "lead_id": "l", "properties": {"url": "/x"}}
    intake = parse_batch([good, {"type": "page_view", "lead_id": "l"}, 7], NOW)
    assert [e.lead_id for e in intake.accepted] == ["l"]
    assert [(r.index, r.errors[0].field) for r in intake.rejected] == [
        (1, "properties"), (2, "(event)")]


def test_a_single_bad_event_raises_naming_the_field() -> None:
    with pytest.raises(InvalidEvents) as exc:
        parse_event({"type": "page_view", "lead_id": "l"}, NOW)
    assert exc.value.errors[0].field == "properties"


def test_an_occurred_at_before_year_one_in_utc_is_a_bad_event_not_a_crash() -> None:
    raw = {"type": "page_view", "lead_id": "l", "properties": {"url": "/x"},
           "occurred_at": "0001-01-01T00:01:01+02:00"}
    intake = parse_batch([raw], NOW)
    assert intake.accepted == []
    assert [(r.index, r.errors[0].field) for r in intake.rejected] == [(0, "occurred_at")]
