"""The sink's native record decoding (sinks/fast_records.py) returns what kafka-python's own
decoding returns, record for record, on the real broker: compressed or not, headers, null keys
and values, polls that stop mid-batch, and transactions (aborted ones skipped, control
records hidden) under read_committed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from sinks import fast_records


@pytest.fixture
def topic(prefix: str, bootstrap: str) -> Iterator[str]:
    name = f"{prefix}records"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name, 2, 1)])
    try:
        yield name
    finally:
        try:
            admin.delete_topics([name])
        finally:
            admin.close()


def _read_all(
    bootstrap: str,
    topic: str,
    *,
    native: bool,
    isolation: str,
    max_poll_records: int,
    markers: bool,
) -> tuple[list[Any], dict[int, int]]:
    """Every record of the topic as ConsumerRecord tuples, and each partition's position after
    them (the end offset: control records included)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=isolation,
        check_crcs=True,
        max_poll_records=max_poll_records,
    )
    try:
        if native:
            assert fast_records.install(consumer)
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(tps)
        consumer.seek_to_end(*tps)
        ends = {tp: consumer.position(tp) for tp in tps}
        consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        # Condition, not time: read until every partition's position is its end offset.
        for _ in range(10_000):
            if all(consumer.position(tp) >= ends[tp] for tp in tps):
                break
            for tp, batch in consumer.poll(timeout_ms=200).items():
                records.extend(batch)
                # The position follows what was returned, also when a poll stops mid-batch
                # (past it only by control records, which are never returned).
                assert consumer.position(tp) >= batch[-1].offset + 1
                if not markers:
                    assert consumer.position(tp) == batch[-1].offset + 1
        else:
            raise AssertionError(f"positions {[consumer.position(tp) for tp in tps]} < {ends}")
        positions = {tp.partition: consumer.position(tp) for tp in tps}
        return sorted(records, key=lambda r: (r.partition, r.offset)), positions
    finally:
        consumer.close()


def _both(
    bootstrap: str,
    topic: str,
    isolation: str = "read_uncommitted",
    n: int = 500,
    markers: bool = False,
) -> Any:
    """(stock, native) readings; `markers`: the topic has transaction markers."""
    return tuple(
        _read_all(
            bootstrap,
            topic,
            native=native,
            isolation=isolation,
            max_poll_records=n,
            markers=markers,
        )  # fmt: skip
        for native in (False, True)
    )


def test_native_decoding_is_available_here() -> None:
    # aiokafka's compiled decoder comes with Faust; without it the sink would be 2-3x slower.
    assert fast_records.available()


@pytest.mark.parametrize("compression", [None, "gzip", "lz4"])
def test_native_decoding_matches_kafka_python(
    bootstrap: str, topic: str, compression: str | None
) -> None:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, compression_type=compression
    )
    try:
        for i in range(400):
            headers = [("h", b"v%d" % i), ("ü", b"")] if i % 5 == 0 else []
            key = None if i % 7 == 0 and i % 11 else b"key-%d" % (i % 13)
            value: bytes | None = ("é" * (i % 50)).encode() + b"{%d}" % i
            if i % 11 == 0:
                value = None  # tombstone
            elif i % 17 == 0:
                value = b""
            elif i == 399:
                value = b"x" * 300_000  # a record larger than most batches
            producer.send(topic, key=key, value=value, headers=headers, partition=i % 2)
        producer.flush()
    finally:
        producer.close()
    # Small polls stop in the middle of batches: the next poll must go on from there.
    for n in (7, 500):
        (stock, stock_pos), (native, native_pos) = _both(bootstrap, topic, n=n)
        assert len(stock) == 400
        assert [tuple(r) for r in native] == [tuple(r) for r in stock]
        assert native_pos == stock_pos == {0: 200, 1: 200}


def test_native_decoding_skips_aborted_transactions(bootstrap: str, topic: str) -> None:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, transactional_id=f"{topic}-tx", compression_type="lz4"
    )
    try:
        producer.init_transactions()
        for round_, commit in enumerate([True, False, True, False, True]):
            producer.begin_transaction()
            for i in range(30):
                value = b"%s-%d-%d" % (b"kept" if commit else b"aborted", round_, i)
                producer.send(topic, value=value, partition=i % 2)
            producer.flush()
            if commit:
                producer.commit_transaction()
            else:
                producer.abort_transaction()
    finally:
        producer.close()

    (stock, stock_pos), (native, native_pos) = _both(
        bootstrap, topic, "read_committed", n=11, markers=True
    )
    assert [tuple(r) for r in native] == [tuple(r) for r in stock]
    assert len(native) == 90 and all(r.value.startswith(b"kept-") for r in native)
    # 150 records, and a marker per transaction in each of the two partitions
    assert native_pos == stock_pos and sum(native_pos.values()) == 160

    (stock, _), (native, _) = _both(bootstrap, topic, "read_uncommitted", n=11, markers=True)
    assert [tuple(r) for r in native] == [tuple(r) for r in stock]
    assert len(native) == 150  # aborted records too, never the markers
