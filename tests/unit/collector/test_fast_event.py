"""The one-pass validation of native events (collector/fast_event.py) against pydantic's:
whenever the fast way says yes, pydantic says yes too and gives the very same values."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from collector.enrichment import Edge
from collector.fast_event import fast_parts
from collector.intake import parse_event
from schemas.event_types import EVENT_TYPES
from schemas.events import Event

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8))
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)


def rarely(bad: st.SearchStrategy[Any], good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.integers(0, 11).flatmap(lambda n: bad if n == 6 else good)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right kind of value, sometimes anything."""
    return rarely(json_values, strategy)


ids = maybe(rarely(st.sampled_from(["x" * 129, ""]),
                   st.sampled_from(["a", "anon-1", "x" * 128, "ü-id"])))
urls = rarely(st.sampled_from(["ftp://x", "acme.test", "", "http://[::1",
                               "https://a/" + "p" * 4090]),
              st.sampled_from(["https://acme.test/pricing?utm_source=s&utm_medium=m", "/path",
                               "http://acme.test", "https://a.test/?utm_campaign=c#x"]))
times = maybe(rarely(st.sampled_from(["2026-11-01T10:00:00", "not a time", "2026-13-01"])
                     | st.integers(min_value=-10, max_value=2**50),
                     st.sampled_from(["2026-11-01T10:00:00Z", "2026-11-01T10:00:00.123+02:00"])
                     | st.integers(min_value=0, max_value=2**41) | st.floats(0, 2e12)))
event_ids = maybe(rarely(st.sampled_from([uuid.UUID(int=7).hex, "nope",
                                          "{" + str(uuid.UUID(int=7)) + "}",
                                          "urn:uuid:" + str(uuid.UUID(int=7))]),
                         st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())))
declared = {
    "url": maybe(urls), "title": maybe(st.text(max_size=5)), "referrer": maybe(urls),
    "dwell_ms": maybe(rarely(st.integers(-5, -1) | st.just(2**64), st.integers(0, 10**6))),
    "path": maybe(urls),
    "video_id": maybe(st.text(max_size=300)),
    "percent": maybe(st.integers(-5, 105) | st.floats(-1, 101) | st.sampled_from(["50"])),
    "asset_id": maybe(st.text(max_size=300)), "asset_type": maybe(st.text(max_size=5)),
    "campaign_id": maybe(st.text(max_size=5)), "message_id": maybe(st.text(max_size=5)),
    "form_id": maybe(st.text(max_size=5)), "name": maybe(st.text(max_size=300)),
}
properties = st.fixed_dictionaries({}, optional=declared).flatmap(
    lambda known: st.dictionaries(st.text(max_size=5), json_values, max_size=2).map(
        lambda extra: {**extra, **known}))
context = st.fixed_dictionaries({}, optional={
    "page": maybe(st.fixed_dictionaries({}, optional={"url": urls})),
    "user_agent": maybe(st.sampled_from(["Mozilla/5.0", "curl/8.0", "Googlebot"])),
    "campaign": maybe(st.fixed_dictionaries({}, optional={
        "source": maybe(st.text(max_size=4)), "name": maybe(st.text(max_size=4)),
        "extra": json_values})),
    "ip": maybe(st.sampled_from(["10.1.2.3", "2001:db8::1", "not an ip"])),
    "consent": st.booleans(), "locale": json_values,
})
traits = st.fixed_dictionaries({}, optional={
    "email": maybe(st.sampled_from(["a@acme.test", "a@gmail.com", "nope"])),
    "name": maybe(st.text(max_size=4)), "plan": json_values})
REQUIRED = {"page_view": ("url", urls), "video_progress": ("video_id", st.text(max_size=9)),
            "download": ("asset_id", st.text(max_size=9)), "custom": ("name", st.text(max_size=9))}


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """Events that are mostly valid, each value sometimes wrong in some way."""
    kind = draw(maybe(rarely(st.just("teleport"), st.sampled_from(EVENT_TYPES))))
    raw: dict[str, Any] = {"type": kind}
    raw.update(draw(st.fixed_dictionaries({}, optional={
        "event_id": event_ids, "lead_id": ids, "occurred_at": times, "context": maybe(context),
        "traits": maybe(traits) if kind == "identify" or draw(st.integers(0, 9)) == 6
        else st.nothing()})))
    if draw(st.integers(0, 9)) != 6:
        raw["anonymous_id"] = draw(ids)
    props = draw(maybe(properties))
    if isinstance(props, dict) and isinstance(kind, str) and kind in REQUIRED and draw(
            st.integers(0, 9)) != 6:
        name, values = REQUIRED[kind]
        props[name] = draw(values)
        if kind == "video_progress":
            props["percent"] = draw(declared["percent"])
    if draw(st.integers(0, 9)) != 6:
        raw["properties"] = props
    if draw(st.integers(0, 39)) == 6:
        raw["score"] = draw(json_values)
    return raw


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (an int is not a float here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=3000, deadline=None)
@given(events())
def test_the_fast_way_accepts_only_what_pydantic_accepts_and_gives_the_same(
    raw: dict[str, Any],
) -> None:
    parts = fast_parts(raw)
    if parts is None:
        return  # pydantic decides, as before
    try:
        event = Event.model_validate(raw)
    except ValidationError as exc:
        raise AssertionError(f"fast way accepted what pydantic refuses: {exc}") from None
    slow = (event.event_id, event.type, event.anonymous_id, event.lead_id, event.occurred_at,
            event.properties, event.traits.model_dump(exclude_none=True) if event.traits else {},
            event.context.model_dump(exclude_none=True) if event.context else {})
    assert same(parts, slow)


def test_everyday_events_take_the_fast_way() -> None:
    for raw in [
        {"type": "page_view", "anonymous_id": "a", "occurred_at": "2026-11-01T10:00:00Z",
         "properties": {"url": "https://acme.test/?utm_source=x", "dwell_ms": 4200,
                        "title": "Pricing"},
         "context": {"user_agent": "Mozilla/5.0", "page": {"url": "/p"}}},
        {"type": "video_progress", "lead_id": "l", "event_id": str(uuid.uuid4()),
         "properties": {"video_id": "v", "percent": 50}},
        {"type": "identify", "anonymous_id": "a", "lead_id": "l",
         "traits": {"email": "x@acme.test", "plan": "pro"}},
        {"type": "custom", "anonymous_id": "a", "occurred_at": 1_700_000_000_000,
         "properties": {"name": "Webinar", "seats": 3}, "context": {"campaign": {"source": "s"}}},
    ]:
        assert fast_parts(raw) is not None, raw


def test_stored_events_are_the_same_either_way(monkeypatch: Any) -> None:
    from collector import intake

    raw = {"type": "identify", "anonymous_id": "a", "event_id": str(uuid.UUID(int=1)),
           "occurred_at": "2026-11-23T11:00:00+01:00",
           "traits": {"email": "Ann@Acme.test", "title": None},
           "context": {"ip": "10.1.2.3", "page": {"url": "https://a.test/?utm_source=s"},
                       "campaign": {"name": "n", "term": None}}}
    edge = Edge(NOW, "10.9.9.9", "Googlebot/2.1", sent_at=NOW)
    fast = parse_event(dict(raw), NOW, edge=edge)
    monkeypatch.setattr(intake, "fast_parts", lambda _: None)
    slow = parse_event(dict(raw), NOW, edge=edge)
    assert fast == slow and fast.model_dump_json() == slow.model_dump_json()


def test_the_fast_way_knows_every_field_the_models_declare() -> None:
    # A field declared in schemas/events.py but not in collector/fast_event.py would be
    # taken for an extra key there, and its value would pass unchecked.
    from collector.fast_event import _CAMPAIGN, _CONTEXT, _TRAITS, PROPERTIES
    from schemas.events import PROPERTIES_MODELS, Campaign, Context, Traits

    pairs = [*((PROPERTIES[k], m) for k, m in PROPERTIES_MODELS.items()),
             (_TRAITS, Traits), (_CAMPAIGN, Campaign), (_CONTEXT, Context)]
    assert set(PROPERTIES) == set(PROPERTIES_MODELS)
    for check, model in pairs:
        assert check.fields == tuple(model.model_fields), model.__name__
        required = tuple(n for n, f in model.model_fields.items() if f.is_required())
        assert check.required == required, model.__name__
