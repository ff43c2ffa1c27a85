import uuid
from datetime import UTC, datetime, timedelta

import pytest

from collector.enrichment import (
    Edge,
    campaign_from_url,
    company_domain,
    is_bot,
    truncate_ip,
)
from collector.intake import InvalidEvents, parse_batch, parse_event
from collector.machine_opens import is_machine_open

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def page(**extra: object) -> dict[str, object]:
    return {"type": "page_view", "anonymous_id": "a",
            "properties": {"url": "https://acme.test/p?utm_source=news&utm_campaign=q4"}, **extra}


def test_ips_are_truncated() -> None:
    assert truncate_ip("203.0.113.77") == "203.0.113.0"
    assert truncate_ip("2001:db8:abcd:12:1::9") == "2001:db8:abcd::"
    assert truncate_ip("not an ip") == ""


def test_edge_ip_and_user_agent_are_recorded_truncated() -> None:
    event = parse_event(page(), NOW, edge=Edge(NOW, "198.51.100.9", "Mozilla/5.0 Firefox"))
    assert event.context["ip"] == "198.51.100.0"
    assert event.context["user_agent"] == "Mozilla/5.0 Firefox"
    kept = parse_event(page(), NOW, edge=Edge(NOW, "198.51.100.9", None, truncate_ip=False))
    assert kept.context["ip"] == "198.51.100.9"


def test_utm_parameters_become_the_campaign() -> None:
    assert campaign_from_url("https://x.test/?utm_medium=email&utm_term=t") == {
        "medium": "email", "term": "t"}
    event = parse_event(page(), NOW)
    assert event.context["campaign"] == {"source": "news", "name": "q4"}


def test_company_domain_skips_free_mail() -> None:
    assert company_domain("Jo@Acme.Test") == "acme.test"
    assert company_domain("jo@gmail.com") is None
    assert company_domain("nonsense") is None


def test_future_times_are_clamped_and_flagged() -> None:
    event = parse_event(page(occurred_at="2026-11-03T12:00:00Z"), NOW)
    assert event.occurred_at == NOW and "clock_clamped" in event.flags
    near = parse_event(page(occurred_at="2026-11-01T20:00:00Z"), NOW)
    assert near.occurred_at == NOW + timedelta(hours=8)


def test_bots_are_flagged_not_dropped() -> None:
    assert is_bot("Mozilla/5.0 (compatible; Googlebot/2.1)")
    assert not is_bot("Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0")
    event = parse_event(page(context={"user_agent": "AhrefsBot/7.0"}), NOW)
    assert "bot" in event.flags


def test_consent_false_is_dropped_and_counted() -> None:
    intake = parse_batch([page(context={"consent": False}), page()], NOW)
    assert (len(intake.accepted), intake.dropped, intake.rejected) == (1, 1, [])


def test_oversized_and_unknown_fields_are_rejected() -> None:
    with pytest.raises(InvalidEvents) as exc:
        parse_event(page(context={"blob": "x" * 40_000}), NOW)
    assert exc.value.reason == "too_large"
    with pytest.raises(InvalidEvents) as exc:
        parse_event(page(score=5), NOW)
    assert exc.value.errors[0].field == "score"


def test_machine_opens() -> None:
    sent = NOW - timedelta(hours=1)
    human = "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    assert not is_machine_open(human, sent, NOW, 10)
    assert is_machine_open("Mozilla/5.0", sent, NOW, 10)  # Apple Mail privacy proxy
    assert is_machine_open("Proofpoint URL Defense", sent, NOW, 10)
    assert is_machine_open(None, sent, NOW, 10)
    assert is_machine_open(human, NOW - timedelta(seconds=3), NOW, 10)


def test_event_ids_are_random_v4_uuids_and_distinct() -> None:
    from collector.enrichment import new_event_id

    ids = [new_event_id() for _ in range(1000)]  # spans several pools of 256
    assert len(set(ids)) == 1000
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)


def test_v4_ids_are_what_uuid_makes_of_the_same_bytes() -> None:
    import os

    from collector.enrichment import v4_uuid

    for random16 in [bytes(16), b"\xff" * 16, *(os.urandom(16) for _ in range(2000))]:
        made, expected = v4_uuid(random16), uuid.UUID(bytes=random16, version=4)
        assert made == expected and str(made) == str(expected) and hash(made) == hash(expected)
        assert made.is_safe == expected.is_safe and made.version == 4


def test_stored_event_is_what_model_construct_makes() -> None:
    from collector.enrichment import stored_event
    from schemas.events import StoredEvent

    assert not StoredEvent.__pydantic_post_init__ and not StoredEvent.__private_attributes__
    assert all(f.alias is None and f.validation_alias is None
               for f in StoredEvent.model_fields.values())
    now = datetime(2026, 11, 1, 10, tzinfo=UTC)
    values = {"event_id": uuid.uuid4(), "type": "page_view", "anonymous_id": "a",
              "lead_id": None, "occurred_at": now, "received_at": now,
              "properties": {"url": "/x"}, "traits": {}, "context": {"ip": "10.0.0.0"},
              "flags": ["bot"]}
    fast, slow = stored_event(dict(values)), StoredEvent.model_construct(**values)
    assert fast == slow
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.model_fields_set == slow.model_fields_set
    assert StoredEvent.model_validate_json(fast.model_dump_json()) == slow
    fast.flags = []  # an assignment still works (pydantic records it in the fields set)
