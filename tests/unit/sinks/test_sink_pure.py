"""Pure parts of the sink: rows from messages, batches and tokens, the read-only guard,
DDL splitting, the table formatter. No broker, no ClickHouse."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from kafka.structs import OffsetAndMetadata, TopicPartition

from schemas.events import StoredEvent
from schemas.messages import LeadScore, StageChangeMessage
from sinks.batch import Batch
from sinks.query import QueryError, QueryResult, check_read_only
from sinks.reports import format_table
from sinks.rows import EVENTS, STAGE_CHANGES, BadMessage, stage_line, table_specs, topic_tables
from sinks.schema import migrations, statements
from sinks.writer import DATA_ERROR_CODES, error_code

AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _event(**over: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "event_id": uuid.uuid4(),
        "type": "page_view",
        "anonymous_id": "a1",
        "occurred_at": AT,
        "received_at": AT,
        "properties": {"url": "https://ex.com/p?utm_source=li&utm_medium=social"},
    }
    fields.update(over)
    return json.loads(StoredEvent(**fields).model_dump_json())


def test_event_row_takes_campaign_from_context_then_from_the_url() -> None:
    row = dict(zip(EVENTS.columns, EVENTS.to_row(_event()), strict=True))
    assert (row["utm_source"], row["utm_medium"], row["path"]) == ("li", "social", "/p")
    assert row["lead_id"] == "" and row["percent"] is None and row["occurred_at"] == AT
    ctx = {"campaign": {"source": "google", "medium": "cpc", "name": "fall"}}
    row = dict(zip(EVENTS.columns, EVENTS.to_row(_event(context=ctx)), strict=True))
    assert (row["utm_source"], row["utm_campaign"]) == ("google", "fall")


def test_bad_messages_are_named() -> None:
    with pytest.raises(BadMessage):
        EVENTS.to_row({**_event(), "occurred_at": "2026-11-20T10:00:00"})  # no zone
    with pytest.raises(BadMessage):
        EVENTS.to_row({**_event(), "event_id": "not-a-uuid"})


def test_score_rows_carry_the_half_life() -> None:
    score = LeadScore(
        lead_id="l", score=3.5, stage="warm", at="2026-11-20T10:00:00Z", rules_version="v1"
    )
    row = table_specs(60.0)["lead_scores"].to_row(json.loads(score.model_dump_json()))
    assert row[8] == 60.0 and row[3] == AT


def test_stage_change_row_keeps_the_change_id() -> None:
    change = StageChangeMessage(
        lead_id="anon:x",
        from_stage="cold",
        to_stage="warm",
        score=5,
        at="2026-11-20T10:00:00Z",
        cause="decay",
        rules_version="v1",
        change_id="c-1",
    )
    row = STAGE_CHANGES.to_row(json.loads(change.model_dump_json()))
    assert row[:2] == ("c-1", "anon:x") and row[6] == "decay"


def test_every_topic_routes_to_a_table_and_replays_do_not() -> None:
    routes = topic_tables("p-")
    assert routes["p-events-page-view"] == "events"
    assert routes["p-lead-stage-changes"] == "lead_stage_changes"
    assert "p-lead-scores-replay" not in routes
    assert set(routes.values()) <= set(table_specs(1.0))


def test_batch_ranges_commits_and_deterministic_tokens() -> None:
    a, b = TopicPartition("t", 0), TopicPartition("t", 1)
    batch = Batch()
    assert not batch.due(10.0, 5, 1.0)
    batch.add("events", ("r",), a, 7, now=10.0)
    batch.add("events", None, a, 8, now=10.1)  # already stored: moves the commit, adds no row
    batch.add("events", ("r",), b, 3, now=10.2)
    assert batch.row_count == 2 and batch.ranges == {a: (7, 8), b: (3, 3)}
    assert batch.commit_offsets() == {
        a: OffsetAndMetadata(9, "", -1),
        b: OffsetAndMetadata(4, "", -1),
    }
    assert not batch.due(10.5, 5, 1.0) and batch.due(11.0, 5, 1.0) and batch.due(10.5, 2, 1.0)
    again = Batch()
    again.add("events", ("r",), b, 3, now=0.0)
    again.add("events", ("r",), a, 7, now=0.0)
    again.add("events", ("r",), a, 8, now=0.0)
    assert again.token("events") == batch.token("events") != batch.token("outcomes")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        " -- hi\n select 1;",
        "WITH 1 AS x SELECT x",
        "SHOW TABLES",
        "DESCRIBE events",
        "EXPLAIN SELECT 1",
    ],
)
def test_reads_pass_the_guard(sql: str) -> None:
    assert check_read_only(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO events VALUES (1)",
        "DROP TABLE x",
        "",
        "  ;",
        "SELECT 1; DROP TABLE events",
        "SELECT 1 INTO OUTFILE 'x'",
        "/* SELECT */ ALTER TABLE x DELETE WHERE 1",
        "SET readonly=0",
        "SYSTEM STOP MERGES",
        "OPTIMIZE TABLE events FINAL",
    ],
)
def test_writes_are_refused_with_a_reason(sql: str) -> None:
    with pytest.raises(QueryError):
        check_read_only(sql)


def test_ddl_files_split_into_idempotent_statements() -> None:
    found = migrations()
    assert [m.version for m in found] == sorted({m.version for m in found})
    for migration in found:
        for statement in statements(migration.sql, "lsx"):
            assert "{db}" not in statement and not statement.endswith(";")
            assert "IF NOT EXISTS" in statement or "OR REPLACE" in statement, statement[:80]
    with pytest.raises(ValueError):
        statements("SELECT 1;", "bad-name; DROP")


def test_format_table_aligns_numbers_right() -> None:
    text = format_table(QueryResult(["name", "n"], [("a", 1), ("bbb", 22.5), ("c", None)]))
    assert text.splitlines() == [
        "name     n",
        "----  ----",
        "a        1",
        "bbb   22.5",
        "c     NULL",
    ]
    assert "(no rows)" in format_table(QueryResult(["x"], []))


def test_stage_line_splices_coordinates_without_parsing() -> None:
    assert (
        stage_line(b'{"a":1}', "t-x", 2, 9) == b'{"_topic":"t-x","_partition":2,"_offset":9,"a":1}'
    )
    assert stage_line(b"{ }", "t", 0, 1) == b'{"_topic":"t","_partition":0,"_offset":1}'
    assert stage_line(b"[1]", "t", 0, 0) is None and stage_line(None, "t", 0, 0) is None


def test_error_codes_are_read_from_clickhouse_messages() -> None:
    assert error_code(RuntimeError("Code: 27. DB::Exception: Cannot parse input")) == 27
    assert error_code(ConnectionError("connection refused")) is None
    assert 27 in DATA_ERROR_CODES and 241 not in DATA_ERROR_CODES  # 241: memory limit, retry
