"""Rebalances while the sink runs: nothing stalls, nothing is lost or doubled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewPartitions

from leadscore.settings import Settings
from schemas.topics import event_topic
from sinks.runner import SinkConfig
from tests.integration.sinks.conftest import PARTITIONS
from tests.integration.sinks.factories import exact_counts, stored_event, wait_count, wait_for


def _send(producer: KafkaProducer, topic: str, first: int, n: int, partition: int | None) -> None:
    for i in range(first, first + n):
        event = stored_event(i)
        producer.send(topic, key=event.key, value=event.model_dump_json(), partition=partition)
    producer.flush()


def _joined(consumer: KafkaConsumer) -> bool:
    consumer.poll(timeout_ms=200)
    return bool(consumer.assignment())


def test_sink_reads_on_through_rebalances_with_joins_ending_outside_poll(
    settings: Settings,
    prefix: str,
    bootstrap: str,
    producer: KafkaProducer,
    start_sink: Callable[..., Any],
) -> None:
    topic = event_topic("page_view", prefix)
    # 1 ms polls: every group join ends after poll() returned. kafka-python 3.0.12 then lost
    # the leader's join and the sink read nothing more (the kill -9 restart stall).
    start_sink(SinkConfig(max_wait_s=0.1, poll_ms=1))
    _send(producer, topic, 0, 100, None)
    wait_count(settings, "events", 100)

    # A new partition changes the leader's metadata snapshot: the group rebalances.
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_partitions({topic: NewPartitions(total_count=PARTITIONS + 1)})
    finally:
        admin.close()
    # A second member joins (taking some partitions, reading, committing nothing) and
    # leaves: two more rebalances, each revoking everything the sink holds.
    _send(producer, topic, 100, 100, None)
    other = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{prefix}leadscore-sink",
        enable_auto_commit=False,
        session_timeout_ms=10_000,
    )
    try:
        wait_for(lambda: _joined(other))
    finally:
        other.close(autocommit=False)

    fresh = KafkaProducer(  # one that learns the new partition at its first metadata fetch
        bootstrap_servers=bootstrap,
        acks="all",
        key_serializer=str.encode,
        value_serializer=str.encode,
    )
    try:
        assert PARTITIONS in fresh.partitions_for(topic)
        _send(fresh, topic, 200, 50, PARTITIONS)
    finally:
        fresh.close()
    _send(producer, topic, 250, 50, None)
    wait_count(settings, "events", 300, timeout=120)
    assert exact_counts(settings, "events", "event_id") == (300, 300)
