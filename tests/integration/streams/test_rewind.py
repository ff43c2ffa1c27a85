"""Rewinding to committed offsets on the real broker, partitions never committed included.

Faust drops a batch fetched during a rebalance and rewinds with `seek_to_committed`; a
partition nobody had committed kept its position past the dropped records, and a killed
worker's uncommitted events were never scored by the survivor (streams/rewind.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiokafka
from aiokafka import TopicPartition
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from streams.rewind import rewind_to_committed

RECORDS = 6


def make_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        sent = [
            producer.send(topic, value=b"{}", partition=p)
            for p in range(partitions)
            for _ in range(RECORDS)
        ]
        for future in sent:
            future.get(timeout=30)
    finally:
        producer.close()


async def read_to_end(consumer: aiokafka.AIOKafkaConsumer, tps: list[TopicPartition]) -> None:
    """Fetch without committing until every partition's position is at its end."""
    ends = await consumer.end_offsets(tps)
    while [await consumer.position(tp) for tp in tps] != [ends[tp] for tp in tps]:
        await consumer.getmany(*tps, timeout_ms=500)


@asynccontextmanager
async def read_by_a_group(
    bootstrap: str, tps: list[TopicPartition]
) -> AsyncIterator[aiokafka.AIOKafkaConsumer]:
    """A group's consumer of `tps` that has read them to their ends and committed nothing."""
    consumer = aiokafka.AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=tps[0].topic + "-group",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        await read_to_end(consumer, tps)
        yield consumer
    finally:
        await consumer.stop()


async def positions_after_rewinds(bootstrap: str, topic: str) -> dict[str, object]:
    never, committed, skipped = tps = [TopicPartition(topic, p) for p in range(3)]
    async with read_by_a_group(bootstrap, tps) as consumer:
        await consumer.commit({committed: 2})
        seen: dict[str, object] = {}
        # aiokafka alone: the partition without a commit stays where its fetches left it.
        await consumer.seek_to_committed()
        seen["aiokafka"] = [await consumer.position(tp) for tp in tps]
        seen["committed"] = dict(
            await rewind_to_committed(consumer, "earliest", lambda tp: tp == skipped)
        )
        seen["earliest"] = [await consumer.position(tp) for tp in tps]
        await rewind_to_committed(consumer, "latest", lambda tp: False)
        seen["latest"] = [await consumer.position(tp) for tp in tps]
        return seen


def test_partitions_without_a_commit_go_back_by_the_reset_policy(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = topic_prefix + "rewind"
    make_topic(kafka_bootstrap, topic, 3)
    seen = asyncio.run(positions_after_rewinds(kafka_bootstrap, topic))
    never, committed, skipped = (TopicPartition(topic, p) for p in range(3))
    assert seen["aiokafka"] == [RECORDS, 2, RECORDS]
    assert seen["committed"] == {never: None, committed: 2, skipped: None}
    # Uncommitted: back to the start; committed: its offset; skipped (a changelog): untouched.
    assert seen["earliest"] == [0, 2, RECORDS]
    assert seen["latest"] == [RECORDS, 2, RECORDS]


async def rewind_across_a_revocation(bootstrap: str, topic: str) -> int:
    kept, revoked = TopicPartition(topic, 0), TopicPartition(topic, 1)
    async with read_by_a_group(bootstrap, [kept, revoked]) as consumer:
        fetch_commits = consumer.seek_to_committed

        async def revoking(*partitions: TopicPartition) -> object:
            committed = await fetch_commits(*partitions)
            consumer.assign([kept])  # a rebalance while the commits were being fetched
            return committed

        consumer.seek_to_committed = revoking  # type: ignore[method-assign]
        await rewind_to_committed(consumer, "earliest", lambda tp: False)
        position: int = await consumer.position(kept)
        return position


def test_a_partition_revoked_meanwhile_is_not_sought(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = topic_prefix + "revoked"
    make_topic(kafka_bootstrap, topic, 2)
    # aiokafka raises IllegalStateError for a seek on a partition no longer assigned.
    assert asyncio.run(rewind_across_a_revocation(kafka_bootstrap, topic)) == 0
