"""run_query: through the running sink, or direct when none runs; read-only either way."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from kafka import KafkaProducer

from leadscore.settings import Settings
from sinks.clickhouse import connect, database_name
from sinks.owner import LOCK_NAME, owner_or_lock, read_owner
from sinks.query import QueryError, execute, run_query
from tests.integration.sinks.factories import send_events, stored_event, wait_count

SELECT_EVENTS = "SELECT count(), min(type) FROM events"
# Reads by keyword, writes by effect: only the readonly=1 session stops these.
SNEAKY = [
    "SELECT 1 SETTINGS readonly = 0",
    "SELECT * FROM file('/etc/hostname', 'LineAsString')",
    "WITH 1 AS x SELECT x SETTINGS readonly = 0",
]


def _post(port: int, sql: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/query", data=json.dumps({"sql": sql}).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_through_the_sink_then_direct(
    settings: Settings, prefix: str, producer: KafkaProducer, start_sink: Callable[..., Any]
) -> None:
    send_events(producer, prefix, [stored_event(i) for i in range(5)])
    sink = start_sink()
    wait_count(settings, "events", 5)
    with owner_or_lock(settings.var_dir) as owner:
        assert owner is not None and owner["port"]  # the sink owns chDB and serves queries
    through_sink = run_query(settings, SELECT_EVENTS)
    port = int(read_owner(settings.var_dir / LOCK_NAME)["port"] or 0)
    for sql in SNEAKY:
        status, body = _post(port, sql)
        assert status == 400 and "readonly" in body["error"].lower(), (sql, body)
    status, body = _post(port, "DROP TABLE events")
    assert status == 400 and "read-only: DROP is refused" in body["error"]
    sink.join()

    with owner_or_lock(settings.var_dir) as owner:
        assert owner is None  # nobody owns it now: run_query opens chDB itself
    assert run_query(settings, SELECT_EVENTS) == through_sink == run_query(settings, SELECT_EVENTS)
    assert through_sink.rows == [(5, "page_view")]


def test_readonly_session_refuses_writes_even_without_the_guard(
    chdb_client: Any, settings: Settings
) -> None:
    chdb_client.command("CREATE DATABASE IF NOT EXISTS leadscore")
    chdb_client.command("CREATE TABLE leadscore.t (x UInt8) ENGINE = Memory")
    readonly = connect(settings, readonly=True, database=database_name(settings))
    try:
        for sql in ["INSERT INTO t VALUES (1)", "DROP TABLE t", "SET readonly = 0", *SNEAKY]:
            with pytest.raises(QueryError, match="(?i)readonly"):
                execute(readonly, sql)
        assert execute(readonly, "SELECT count() FROM t").rows == [(0,)]
    finally:
        readonly.close()
