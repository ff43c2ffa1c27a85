"""Messages, producers and polling helpers for the sink tests."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaProducer

from leadscore.settings import Settings
from schemas.events import StoredEvent
from schemas.messages import StageChangeMessage
from schemas.topics import event_topic
from sinks.query import QueryResult, run_query
from tests.kafka_io import wait_for

__all__ = ["wait_for"]


def scalar(settings: Settings, sql: str) -> Any:
    result: QueryResult = run_query(settings, sql)
    return result.rows[0][0] if result.rows else None


def count_when_ready(settings: Settings, sql: str) -> int:
    """A count that tolerates the database not existing yet (sink still starting)."""
    try:
        return int(scalar(settings, sql) or 0)
    except Exception:  # noqa: BLE001
        return 0


NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def stored_event(i: int, kind: str = "page_view", **over: Any) -> StoredEvent:
    props: dict[str, Any] = {
        "page_view": {
            "url": f"https://ex.com/pricing?utm_source=google&utm_medium=cpc&n={i}",
            "dwell_ms": 1000 + i,
        },
        "video_progress": {"video_id": "demo", "percent": 50.0},
        "download": {"asset_id": "whitepaper"},
        "email_open": {"campaign_id": "nov-news"},
    }.get(kind, {})
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "type": kind,
        "anonymous_id": f"anon-{i % 7}",
        "lead_id": f"lead-{i % 5}" if i % 2 else None,
        "occurred_at": NOW + timedelta(seconds=i),
        "received_at": NOW + timedelta(seconds=i, milliseconds=5),
        "properties": props,
        "flags": ["bot"] if i % 10 == 0 else [],
    }
    fields.update(over)
    return StoredEvent(**fields)


def stage_change(i: int, **over: Any) -> StageChangeMessage:
    fields: dict[str, Any] = {
        "lead_id": f"lead-{i}",
        "from_stage": "warm",
        "to_stage": "hot",
        "score": 12.5,
        "at": "2026-11-20T10:00:00.000Z",
        "cause": "event",
        "event_id": str(uuid.uuid4()),
        "rules_version": "v1",
        "change_id": f"chg-{i}",
        "contributions": [{"rule_id": "pricing", "points": 5.0, "event_id": None}],
    }
    fields.update(over)
    return StageChangeMessage(**fields)


def send_events(producer: KafkaProducer, prefix: str, events: list[StoredEvent]) -> None:
    for event in events:
        producer.send(event_topic(event.type, prefix), key=event.key, value=event.model_dump_json())
    producer.flush()


def send_json(producer: KafkaProducer, topic: str, key: str, value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    producer.send(topic, key=key, value=text)
