"""The two ways an event becomes a row agree: parsed in ClickHouse (the fast path, 004 DDL)
and parsed in Python (the fallback for batches ClickHouse refuses)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from kafka.structs import TopicPartition

from sinks.batch import Batch, Message
from sinks.rows import EVENTS, stage_line, table_specs
from sinks.schema import ensure_schema
from sinks.writer import write_batch
from tests.integration.sinks.factories import stored_event

CONTEXTS: list[dict[str, Any]] = [
    {},
    {"campaign": {"source": "google", "medium": "cpc", "name": "fall sale"}},
    {"page": {"url": "https://ex.com/a/b?utm_source=li&utm_campaign=x%20y", "referrer": "r"}},
    {"user_agent": "Mozilla/5.0", "ip": "203.0.113.9", "page": {"path": "/from-page"}},
]


def _messages() -> list[bytes]:
    values = []
    for i in range(24):
        kind = ["page_view", "video_progress", "download", "email_open", "identify", "custom"][
            i % 6
        ]
        over: dict[str, Any] = {"context": CONTEXTS[i % len(CONTEXTS)]}
        if kind == "identify":
            over.update(properties={}, traits={"email": "ä@ex.com", "title": "CTO"})
        if kind == "custom":
            over["properties"] = {"name": "webinar", "nested": {"a": [1, 2]}}
        values.append(stored_event(i, kind, **over).model_dump_json().encode())
    return values


def _normal(row: tuple[Any, ...]) -> tuple[Any, ...]:
    out = []
    for name, value in zip(EVENTS.columns, row, strict=True):
        if name in ("properties", "traits", "context"):
            value = json.loads(value)
        elif isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # chDB may drop the zone of DateTime64('UTC')
        elif isinstance(value, float):
            value = round(value, 3)
        out.append(value)
    return tuple(out)


def test_clickhouse_and_python_parse_events_alike(chdb_client: Any) -> None:
    ensure_schema(chdb_client, "fast")
    ensure_schema(chdb_client, "slow")
    fast, slow = Batch(), Batch()
    specs = table_specs(60.0)
    tp = TopicPartition("events-x", 0)
    for offset, value in enumerate(_messages()):
        message = Message("events-x", 0, offset, b"k", value)
        line = stage_line(value, "events-x", 0, offset)
        assert line is not None
        fast.add_line("events", line, tp, message, 0.0)
        row = EVENTS.to_row(json.loads(value)) + ("events-x", 0, offset)
        slow.add("events", row, tp, offset, 0.0)
    write_batch(chdb_client, "fast", fast, specs)
    write_batch(chdb_client, "slow", slow, specs)
    columns = ", ".join(EVENTS.columns)
    read = {
        db: [
            _normal(r)
            for r in chdb_client.query(
                f"SELECT {columns} FROM {db}.events ORDER BY _offset"
            ).result_rows
        ]
        for db in ("fast", "slow")
    }
    assert len(read["fast"]) == 24
    for fast_row, slow_row in zip(read["fast"], read["slow"], strict=True):
        assert fast_row == slow_row
