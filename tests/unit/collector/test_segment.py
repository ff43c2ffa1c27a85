import uuid
from datetime import UTC, datetime, timedelta

import pytest

from collector.enrichment import Edge
from collector.intake import InvalidEvents, parse_batch, parse_event
from collector.segment import event_id, is_segment, translate

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def track(name: str, **props: object) -> dict[str, object]:
    return {"type": "track", "event": name, "anonymousId": "a1", "messageId": "m-1",
            "properties": props}


def test_message_ids_become_deterministic_uuids() -> None:
    assert event_id("ajs-next-abc") == event_id("ajs-next-abc")
    assert event_id("ajs-next-abc") != event_id("ajs-next-abd")
    real = str(uuid.uuid4())
    assert event_id(real) == real


def test_identify_dialects_are_told_apart() -> None:
    assert is_segment({"type": "identify", "userId": "u"})
    assert not is_segment({"type": "identify", "lead_id": "u"})
    assert is_segment({"type": "page"}) and not is_segment({"type": "page_view"})


@pytest.mark.parametrize(("name", "props", "kind"), [
    ("Email Opened", {"email_id": "e1"}, "email_open"),
    ("Email Link Clicked", {"link_url": "https://x.test"}, "email_click"),
    ("File Downloaded", {"file_name": "guide.pdf"}, "download"),
    ("Asset Downloaded", {"asset_id": "wp-1"}, "download"),
    ("Form Submitted", {"form_name": "demo"}, "form_submit"),
    ("Video Content Completed", {"asset_id": "v1"}, "video_progress"),
    ("Something Else", {"x": 1}, "custom"),
])
def test_track_names_map_onto_types(name: str, props: dict[str, object], kind: str) -> None:
    event = parse_event(track(name, **props), NOW)
    assert event.type == kind
    assert event.anonymous_id == "a1"


def test_video_position_becomes_percent() -> None:
    event = parse_event(track("Video Content Playing", asset_id="v1", position=30,
                              total_length=120), NOW)
    assert event.properties["percent"] == 25.0 and event.properties["video_id"] == "v1"
    with pytest.raises(InvalidEvents) as exc:
        parse_event(track("Video Content Playing", asset_id="v1", position=3), NOW)
    assert exc.value.errors[0].field == "properties.total_length"


def test_custom_table_maps_other_names() -> None:
    event = parse_event(track("Webinar Registered", webinar="w1"), NOW,
                        track_mapping={"Webinar Registered": "form_submit"})
    assert event.type == "form_submit"
    assert event.properties["event_name"] == "Webinar Registered"


def test_custom_events_keep_their_name() -> None:
    event = parse_event(track("Pricing Toggled"), NOW)
    assert event.properties["name"] == "Pricing Toggled"


def test_page_identify_alias() -> None:
    page = parse_event({"type": "page", "anonymousId": "a", "name": "Pricing",
                        "context": {"page": {"url": "https://acme.test/pricing"}}}, NOW)
    assert page.type == "page_view" and page.properties["url"] == "https://acme.test/pricing"
    ident = parse_event({"type": "identify", "userId": "u1", "anonymousId": "a",
                         "traits": {"email": "jo@acme.test"}}, NOW)
    assert (ident.lead_id, ident.anonymous_id, ident.traits["company_domain"]) == (
        "u1", "a", "acme.test")
    alias = parse_event({"type": "alias", "previousId": "old", "userId": "u1"}, NOW)
    assert (alias.type, alias.anonymous_id, alias.lead_id) == ("identify", "old", "u1")
    with pytest.raises(InvalidEvents):
        translate({"type": "alias", "userId": "u1"}, {})


def test_clock_skew_is_corrected_from_sent_at() -> None:
    # The device clock runs 1 h fast: it says it sent at 13:00 what happened at 12:59.
    raw = {"type": "page", "anonymousId": "a", "properties": {"url": "/p"},
           "originalTimestamp": "2026-11-01T12:59:00Z", "sentAt": "2026-11-01T13:00:00Z"}
    event = parse_event(raw, NOW)
    assert event.occurred_at == NOW - timedelta(minutes=1)
    assert "clock_corrected" in event.flags


def test_batch_envelope_sent_at_applies_to_native_events() -> None:
    edge = Edge(NOW, sent_at=NOW + timedelta(hours=2))
    intake = parse_batch([{"type": "page_view", "anonymous_id": "a", "properties": {"url": "/"},
                           "occurred_at": "2026-11-01T13:30:00Z"}], NOW, edge=edge)
    assert intake.accepted[0].occurred_at == NOW - timedelta(minutes=30)


def test_unsupported_segment_type_in_batch_is_rejected_by_index() -> None:
    intake = parse_batch([{"type": "group", "anonymousId": "a"}, track("X")], NOW)
    assert [r.index for r in intake.rejected] == [0]
    assert len(intake.accepted) == 1
