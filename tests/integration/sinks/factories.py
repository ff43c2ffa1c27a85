"""Messages, producers and polling helpers for the sink tests."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaProducer

from leadscore.settings import Settings
from schemas.events import StoredEvent
from schemas.messages import StageChangeMessage
from schemas.topics import event_topic
from sinks.query import QueryError, QueryResult, run_query
from tests.kafka_io import wait_for

__all__ = ["wait_for"]


def scalar(settings: Settings, sql: str) -> Any:
    result: QueryResult = run_query(settings, sql)
    return result.rows[0][0] if result.rows else None


def count_when_ready(settings: Settings, sql: str) -> int:
    """A count that tolerates the database not existing yet (sink still starting)."""
    try:
        return int(scalar(settings, sql) or 0)
    except QueryError as exc:
        if "UNKNOWN_DATABASE" in str(exc) or "UNKNOWN_TABLE" in str(exc):
            return 0
        raise


def wait_count(settings: Settings, table: str, n: int, timeout: float = 60.0) -> None:
    """Wait until `table` holds exactly-or-more `n` rows; the failure shows the last count."""
    sql = f"SELECT count() FROM {table}"
    seen: list[int] = []

    def enough() -> bool:
        seen.append(count_when_ready(settings, sql))
        return seen[-1] >= n

    try:
        wait_for(enough, timeout=timeout)
    except AssertionError:
        raise AssertionError(f"{table}: {seen[-1] if seen else None} rows, wanted {n}") from None


NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def stored_event(i: int, kind: str = "page_view", **over: Any) -> StoredEvent:
    by_kind: dict[str, dict[str, Any]] = {
        "page_view": {
            "url": f"https://ex.com/pricing?utm_source=google&utm_medium=cpc&n={i}",
            "dwell_ms": 1000 + i,
        },
        "video_progress": {"video_id": "demo", "percent": 50.0},
        "download": {"asset_id": "whitepaper"},
        "email_open": {"campaign_id": "nov-news"},
    }
    props = by_kind.get(kind, {})
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


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so the sink's retry loop can't catch it."""


class FlakyClient:
    """A real clickhouse-connect client whose inserts misbehave on purpose.

    - `fail_for_s`: inserts raise (and do not land) until this many seconds after the first one;
    - `land_then_fail`: the first N inserts land, then raise (a timeout after the server wrote);
    - `crash_after_landing`: the first insert lands, then the sink "dies" before committing.
    """

    def __init__(
        self,
        real: Any,
        fail_for_s: float = 0.0,
        land_then_fail: int = 0,
        crash_after_landing: bool = False,
    ) -> None:
        self._real = real
        self._fail_for_s = fail_for_s
        self._land_then_fail = land_then_fail
        self._crash = crash_after_landing
        self._first: float | None = None
        self.failures = 0
        self.inserts = 0

    def insert(self, *args: Any, **kwargs: Any) -> Any:
        return self._misbehave(self._real.insert, *args, **kwargs)

    def raw_insert(self, *args: Any, **kwargs: Any) -> Any:
        return self._misbehave(self._real.raw_insert, *args, **kwargs)

    def _misbehave(self, insert: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        now = time.monotonic()
        self._first = self._first if self._first is not None else now
        if now - self._first < self._fail_for_s:
            self.failures += 1
            raise ConnectionError("ClickHouse unreachable (simulated)")
        result = insert(*args, **kwargs)
        self.inserts += 1
        if self._crash:
            self._crash = False
            raise Crash("killed between insert and commit")
        if self._land_then_fail > 0:
            self._land_then_fail -= 1
            self.failures += 1
            raise TimeoutError("insert landed but the reply was lost (simulated)")
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def exact_counts(settings: Settings, table: str, key: str) -> tuple[int, int]:
    """count() and uniqExact(key): equal and as expected means nothing lost, nothing doubled."""
    row = run_query(settings, f"SELECT count(), uniqExact({key}) FROM {table}").rows[0]
    return int(row[0]), int(row[1])
