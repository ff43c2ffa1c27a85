"""Events and stage changes produced to the real broker land in chDB, once each."""

from __future__ import annotations

import json
from collections.abc import Callable

from kafka import KafkaProducer

from leadscore.settings import Settings
from schemas import topics as t
from sinks.query import run_query
from tests.integration.sinks.factories import (
    count_when_ready,
    exact_counts,
    send_events,
    send_json,
    stage_change,
    stored_event,
    wait_count,
    wait_for,
)

KINDS = ["page_view"] * 20 + ["video_progress"] * 5 + ["download"] * 3 + ["email_open"] * 2


def test_events_and_stage_changes_land(
    settings: Settings, prefix: str, producer: KafkaProducer, start_sink: Callable[..., object]
) -> None:
    events = [stored_event(i, kind) for i, kind in enumerate(KINDS)]
    send_events(producer, prefix, events)
    for change in [stage_change(i) for i in range(10)]:
        send_json(producer, prefix + t.LEAD_STAGE_CHANGES, change.lead_id, change.model_dump_json())
    producer.flush()
    start_sink()

    events_sql = "SELECT count() FROM events"
    wait_for(lambda: count_when_ready(settings, events_sql) == len(events))
    changes_sql = "SELECT count() FROM lead_stage_changes"
    wait_for(lambda: count_when_ready(settings, changes_sql) == 10)

    one = run_query(
        settings,
        "SELECT type, path, utm_source, utm_medium, dwell_ms, lead_id, flags FROM events "
        f"WHERE event_id = '{events[10].event_id}'",
    )
    assert one.rows == [("page_view", "/pricing", "google", "cpc", 1010, "", ["bot"])]
    video = run_query(settings, "SELECT video_id, percent FROM events WHERE percent IS NOT NULL")
    assert set(video.rows) == {("demo", 50.0)}
    change = run_query(
        settings, "SELECT to_stage, contributions FROM lead_stage_changes WHERE change_id = 'chg-3'"
    )
    assert change.rows == [("hot", [{"rule_id": "pricing", "points": 5.0, "event_id": ""}])]


def test_bad_messages_go_to_dead_letters_and_the_rest_lands(
    settings: Settings, prefix: str, producer: KafkaProducer, start_sink: Callable[..., object]
) -> None:
    good = [stored_event(i) for i in range(20)]
    send_events(producer, prefix, good[:10])
    topic = t.event_topic("page_view", prefix)
    for bad in ['{"not json', "[1, 2]", '{"event_id": "nope", "type": "page_view"}', ""]:
        send_json(producer, topic, "k", bad)
    send_json(producer, prefix + t.LEAD_STAGE_CHANGES, "k", '{"lead_id": "x"}')
    send_events(producer, prefix, good[10:])
    start_sink()
    wait_count(settings, "sink_dead_letters", 5)
    wait_count(settings, "events", 20)
    assert exact_counts(settings, "events", "event_id") == (20, 20)
    dead = run_query(settings, "SELECT value FROM sink_dead_letters")
    assert sorted(v for (v,) in dead.rows) == sorted(
        [
            "",
            '{"not json',
            "[1, 2]",
            '{"event_id": "nope", "type": "page_view"}',
            '{"lead_id": "x"}',
        ]
    )


def test_rows_clickhouse_refuses_on_any_topic_are_dead_lettered_and_the_rest_lands(
    settings: Settings, prefix: str, producer: KafkaProducer, start_sink: Callable[..., object]
) -> None:
    topic = prefix + t.EVENTS_REJECTED
    for i in range(30):
        # idx is Nullable(Int32): 2**40 builds a row in Python that ClickHouse cannot take.
        index = 2**40 if i in (4, 21) else i
        rejected = {
            "received_at": "2026-11-20T10:00:00Z",
            "reason": "invalid",
            "errors": [{"loc": ["type"], "msg": "bad"}],
            "index": index,
            "raw": f"raw-{i}",
        }
        send_json(producer, topic, f"k{i}", rejected)
    producer.flush()
    start_sink()
    wait_count(settings, "events_rejected", 28)
    wait_count(settings, "sink_dead_letters", 2)
    stored = run_query(settings, "SELECT raw FROM events_rejected")
    assert sorted(v for (v,) in stored.rows) == sorted(
        f"raw-{i}" for i in range(30) if i not in (4, 21)
    )
    dead = run_query(settings, "SELECT value, error FROM sink_dead_letters")
    assert sorted(json.loads(value)["raw"] for value, _ in dead.rows) == ["raw-21", "raw-4"]
    assert all("refused by ClickHouse (events_rejected)" in error for _, error in dead.rows)
