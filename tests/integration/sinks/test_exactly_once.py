"""Exactly once into ClickHouse: dedup tokens, outages, and a crash between insert and commit."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.structs import TopicPartition

from leadscore.settings import Settings
from schemas import topics as t
from sinks.batch import Batch
from sinks.rows import EVENTS, table_specs
from sinks.runner import SinkConfig
from sinks.schema import ensure_schema
from sinks.writer import write_batch
from tests.integration.sinks.factories import (
    Crash,
    FlakyClient,
    count_when_ready,
    exact_counts,
    send_events,
    send_json,
    stage_change,
    stored_event,
    wait_for,
)


def _produce(producer: KafkaProducer, prefix: str, n_events: int, n_changes: int) -> None:
    send_events(producer, prefix, [stored_event(i) for i in range(n_events)])
    for i in range(n_changes):
        change = stage_change(i)
        send_json(producer, prefix + t.LEAD_STAGE_CHANGES, change.lead_id, change.model_dump_json())
    producer.flush()


def _all_landed(settings: Settings, n_events: int, n_changes: int) -> None:
    wait_for(lambda: count_when_ready(settings, "SELECT count() FROM events") >= n_events)
    wait_for(
        lambda: count_when_ready(settings, "SELECT count() FROM lead_stage_changes") >= n_changes
    )
    assert exact_counts(settings, "events", "event_id") == (n_events, n_events)
    assert exact_counts(settings, "lead_stage_changes", "change_id") == (n_changes, n_changes)


def test_chdb_drops_a_block_repeated_with_the_same_token(chdb_client: Any) -> None:
    client = chdb_client
    ensure_schema(client, "leadscore")
    batch = Batch()
    tp = TopicPartition("events-page-view", 0)
    for offset in range(3):
        row = EVENTS.to_row(stored_event(offset).model_dump(mode="json"))
        batch.add("events", (*row, tp.topic, tp.partition, offset), tp, offset, 0.0)
    specs = table_specs(60.0)
    for _ in range(3):
        write_batch(client, "leadscore", batch, specs)
    assert client.query("SELECT count() FROM leadscore.events").result_rows == [(3,)]
    # Control: a different token is a different block, so the window is what dropped it.
    batch.ranges[tp] = (0, 3)
    write_batch(client, "leadscore", batch, specs)
    assert client.query("SELECT count() FROM leadscore.events").result_rows == [(6,)]


@pytest.mark.parametrize(
    "flaky",
    [
        pytest.param({"fail_for_s": 3.0}, id="outage"),
        pytest.param({"land_then_fail": 2}, id="lost-reply"),
    ],
)
def test_failing_inserts_pause_retry_and_resume(
    settings: Settings,
    prefix: str,
    producer: KafkaProducer,
    chdb_client: Any,
    start_sink: Callable[..., Any],
    flaky: dict[str, Any],
) -> None:
    client = FlakyClient(chdb_client, **flaky)
    _produce(producer, prefix, 200, 30)
    start_sink(SinkConfig(max_wait_s=0.2, backoff_initial_s=0.1, backoff_max_s=0.5), client)
    _all_landed(settings, 200, 30)
    assert client.failures > 0
    # More traffic after the outage still flows.
    _produce(producer, prefix, 50, 0)
    wait_for(lambda: count_when_ready(settings, "SELECT count() FROM events") >= 250)
    assert exact_counts(settings, "events", "event_id") == (250, 250)


def test_crash_between_insert_and_commit_is_recovered_on_restart(
    settings: Settings,
    prefix: str,
    producer: KafkaProducer,
    chdb_client: Any,  # before start_sink: the sinks stop before this client closes
    start_sink: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="leadscore.sink")
    _produce(producer, prefix, 300, 40)
    # A big batch window so the first flush holds everything, then "dies" after inserting.
    crashing = start_sink(
        SinkConfig(max_wait_s=2.0), FlakyClient(chdb_client, crash_after_landing=True)
    )
    with pytest.raises(Crash):
        crashing.join(stop=False)
    start_sink()

    def restarted_recoveries() -> list[int]:
        # Each start may see more than one assignment (a metadata refresh can rebalance).
        after_restart = "".join(caplog.text.split("event=sink_started")[2:])
        found = re.findall(r"event=recovered .*?already_stored=(\d+)", after_restart)
        return [int(n) for n in found]

    wait_for(restarted_recoveries)
    assert restarted_recoveries()[0] > 0, "the restart should have found the uncommitted rows"
    # One more event after the restart: once it is in, the restarted sink has read past
    # everything the crashed one left uncommitted.
    _produce(producer, prefix, 1, 0)
    _all_landed(settings, 301, 40)
