from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas.events import Event, StoredEvent
from schemas.timestamps import format_time, parse_time
from schemas.topics import event_topic

RECEIVED = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def page(**extra: object) -> dict[str, object]:
    return {
        "type": "page_view",
        "anonymous_id": "a1",
        "properties": {"url": "https://acme.test/pricing"},
        **extra,
    }


def test_minimal_page_view_is_completed_on_storage() -> None:
    stored = StoredEvent.from_event(Event.model_validate(page()), RECEIVED, [])
    assert stored.occurred_at == RECEIVED
    assert stored.event_id.version == 4
    assert stored.key == "a1"


def test_epoch_millis_and_iso_times_agree() -> None:
    a = Event.model_validate(page(occurred_at=1_793_000_000_000))
    b = Event.model_validate(page(occurred_at=format_time(a.occurred_at)))  # type: ignore[arg-type]
    assert a.occurred_at == b.occurred_at


@pytest.mark.parametrize("value", ["2026-11-01T10:00:00", "yesterday", -5, True])
def test_bad_times_are_refused(value: object) -> None:
    with pytest.raises(ValidationError) as exc:
        Event.model_validate(page(occurred_at=value))
    assert exc.value.errors()[0]["loc"] == ("occurred_at",)


def test_an_id_is_required() -> None:
    with pytest.raises(ValidationError, match="anonymous_id or lead_id"):
        Event.model_validate({"type": "page_view", "properties": {"url": "/x"}})


def test_unknown_top_level_field_is_refused_so_clients_cannot_set_a_score() -> None:
    with pytest.raises(ValidationError) as exc:
        Event.model_validate(page(score=100))
    assert exc.value.errors()[0]["loc"] == ("score",)


def test_properties_are_checked_per_type_and_named() -> None:
    with pytest.raises(ValidationError, match="percent"):
        Event.model_validate(
            {
                "type": "video_progress",
                "lead_id": "l",
                "properties": {"video_id": "v", "percent": 140},
            }
        )
    with pytest.raises(ValidationError, match="url"):
        Event.model_validate({"type": "page_view", "lead_id": "l", "properties": {}})


def test_ids_are_bounded() -> None:
    with pytest.raises(ValidationError):
        Event.model_validate(page(anonymous_id="x" * 129))


def test_traits_only_on_identify() -> None:
    Event.model_validate(
        {
            "type": "identify",
            "anonymous_id": "a",
            "lead_id": "l",
            "traits": {"email": "x@acme.test"},
        }
    )
    with pytest.raises(ValidationError, match="identify"):
        Event.model_validate(page(traits={"email": "x@acme.test"}))


def test_time_formats_round_trip_in_utc() -> None:
    moment = parse_time("2026-11-01T11:00:00+01:00")
    assert format_time(moment) == "2026-11-01T10:00:00.000Z"


def test_topics_per_type_with_prefix() -> None:
    assert event_topic("page_view") == "events-page-view"
    assert event_topic("email_open", "p-") == "p-events-email-open"
    with pytest.raises(ValueError):
        event_topic("nope")
